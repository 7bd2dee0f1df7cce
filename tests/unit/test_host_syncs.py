"""Training steps leave everything on the device: the trainers never read a tensor back.

Every Tensor method that copies a value to the host (item, tolist, bool(t), float(t), int(t),
using t as an index, cpu(), numpy()) is counted while 20 steps run; the runner alone syncs, once
per record of the statistics (every `log_every` steps and at each eval step), never per step. torch.optim's own reads are left out: Adam keeps its step counter in a CPU
tensor by design (even for CUDA parameters), so its .item() never waits for the device.
"""


import pytest
import torch
from genbench.plugins.datasets.digits import digits
from genbench.plugins.datasets.toy2d import ring8
from genbench.plugins.families.autoencoder import train_autoencoder
from genbench.plugins.families.gan import train_gan
from genbench.plugins.models.autoencoders import make_deep
from genbench.plugins.models.mlp_gan import make_mlp_gan
from genbench.plugins.objectives import gan
from genbench.plugins.objectives.autoencoder import make_denoising, make_vae

from genbench import TrainSetup
from genbench.run.runner import IntervalStatistics

STEPS = 20


def adam(parameters, role=None):
    return torch.optim.Adam(parameters, lr=1e-3, betas=(0.5, 0.999))


def run_steps(trainer, setup: TrainSetup, reads: list) -> list:
    """Iterate the trainer like the runner does between two eval steps, summing the statistics on
    the device; the reads during the loop."""
    totals = {}
    reads.clear()
    for step in trainer(setup):
        for name, value in step.stats.items():
            totals[name] = totals.get(name, 0) + value
    inside = list(reads)
    assert len(next(iter(totals.values())).shape) == 0
    return inside


@pytest.mark.parametrize("objective", [gan.nonsaturating(k=2), gan.wgan_gp(k=2, r1=1.0), gan.ragan()],
                         ids=["nonsaturating", "wgan-gp+r1", "ragan"])
@pytest.mark.parametrize("g_noise", ["fresh", "reuse"])
def test_gan_steps_read_nothing_back_from_the_device(host_reads, objective, g_noise):
    data = ring8(512, 16, 0)
    torch.manual_seed(0)
    model = make_mlp_gan(data.info, hidden=16, depth=2, z_dim=4)
    train = {"steps": STEPS, "batch_size": 32, "lr": 1e-3, "device": "cpu", "g_noise": g_noise}
    setup = TrainSetup(data, model, objective, adam, train, seed=0, device=torch.device("cpu"))
    assert run_steps(train_gan, setup, host_reads) == []


@pytest.mark.parametrize("variational", [True, False], ids=["vae", "denoising"])
def test_autoencoder_steps_read_nothing_back_from_the_device(host_reads, variational):
    data = digits(128)
    torch.manual_seed(0)
    model = make_deep(data.info, hidden=(16,), code_dim=4, variational=variational)
    objective = (make_vae(beta=1.0) if variational
                 else make_denoising(noise="masking", level=0.25, recon="bce"))
    train = {"steps": STEPS, "batch_size": 16, "lr": 1e-3, "device": "cpu"}
    setup = TrainSetup(data, model, objective, adam, train, seed=0, device=torch.device("cpu"))
    assert run_steps(train_autoencoder, setup, host_reads) == []


def test_the_counter_sees_a_read(host_reads):
    torch.ones(()).item()
    assert host_reads == [("item", __name__)]


def test_interval_statistics_read_once_per_record(host_reads):
    """Adding a step's statistics reads nothing back; each record (`pop`) reads the same, however
    many steps it covers."""
    statistics = IntervalStatistics(8, torch.device("cpu"), {"loss"})
    reads_per_pop = []
    for steps in (1, 8, 3):
        host_reads.clear()
        for step in range(steps):
            statistics.add({"loss": torch.tensor(float(step)), "norm": torch.tensor(1.0)})
        assert host_reads == []
        assert statistics.pop(0) == {"loss": (steps - 1) / 2, "norm": 1.0}
        reads_per_pop.append(len(host_reads))
    assert reads_per_pop[0] > 0 and len(set(reads_per_pop)) == 1
