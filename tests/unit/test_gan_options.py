"""The GAN family's options of the published comparisons: TTUR (each network's own optimizer
settings), an EMA of G, DiffAugment, weight clipping and DRAGAN, and mixed precision."""

import io
import json
import re
from pathlib import Path

import pytest
import torch
from genbench.plugins.datasets.toy2d import ring8
from genbench.plugins.families import diffaugment
from genbench.plugins.families.gan import make_sampler, train_gan
from genbench.plugins.models.dcgan import make_dcgan
from genbench.plugins.models.mlp_gan import make_mlp_gan
from genbench.plugins.objectives import gan

from click.testing import CliRunner

from genbench import ConfigError, Data, DataInfo, Resume, TrainSetup

from genbench.suite import config

from genbench.suite import plan
from genbench.cli import cli
from genbench.run.rescore import stored_cell
from genbench.run.runner import build_setup, run_cell
from genbench.results.store import StoredCell

TRAIN = {"steps": 3, "batch_size": 8, "lr": 1e-3, "device": "cpu"}
IMAGES = DataInfo("image", (1, 8, 8))


def adam(parameters, role=None):
    return torch.optim.Adam(parameters, lr=1e-3, betas=(0.5, 0.9))


def mlp_setup(objective=None, pack: int = 1, **train) -> TrainSetup:
    data = ring8(256, 16, 0)
    torch.manual_seed(0)
    model = make_mlp_gan(data.info, hidden=8, depth=1, z_dim=2, pack=pack, g_batchnorm=True)
    return TrainSetup(data, model, objective or gan.nonsaturating(), adam, {**TRAIN, **train}, 0, torch.device("cpu"))


def dcgan_setup(objective=None, **train) -> TrainSetup:
    data = Data(IMAGES, train=torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    torch.manual_seed(0)
    model = make_dcgan(IMAGES, width=4, z_dim=8)
    return TrainSetup(data, model, objective or gan.nonsaturating(), adam, {**TRAIN, **train}, 0, torch.device("cpu"))


def cells(write_suite, registry, text: str, *settings: str):
    return plan.expand(config.load(str(write_suite(text, name="options.toml")), registry, settings), registry)


SUITE = """
[suite]
name = "options"
seeds = [0]
[train]
steps = 10
batch_size = 32
{train}
[eval]
every = 10
metrics = [{{ name = "modes", n_samples = 200 }}]
[matrix]
datasets = [{{ name = "ring8", n_train = 512, n_test = 64 }}]
models = [{{ name = "mlp", hidden = 16, depth = 1, z_dim = 4 }}]
objectives = ["nonsaturating"]
{matrix}
"""
TTUR = ('optimizers = [{ name = "adam", beta1 = 0.0, generator = { lr = 1e-4 }, '
        'discriminator = { lr = 4e-4, beta2 = 0.99 } }]')


# TTUR ------------------------------------------------------------------------------------------

def test_ttur_gives_each_network_its_own_optimizer_settings(write_suite, registry):
    [cell] = cells(write_suite, registry, SUITE.format(train="", matrix=TTUR))
    assert cell.component("optimizer").kwargs() == {"beta1": 0.0, "beta2": 0.999, "eps": 1e-8, "generator.lr": 1e-4,
                                                    "discriminator.lr": 4e-4, "discriminator.beta2": 0.99}
    _, setup = build_setup(cell, registry, torch.device("cpu"))
    built = {}
    optimizer = setup.optimizer
    setup.optimizer = lambda parameters, role=None: built.setdefault(role, optimizer(parameters, role=role))
    next(train_gan(setup))
    [g], [d] = built["generator"].param_groups, built["discriminator"].param_groups
    assert (g["lr"], g["betas"]) == (1e-4, (0.0, 0.999)) and (d["lr"], d["betas"]) == (4e-4, (0.0, 0.99))
    assert g["params"] == list(setup.model.generator.parameters())
    assert d["params"] == list(setup.model.discriminator.parameters())
    shared = optimizer(list(setup.model.generator.parameters())).param_groups[0]  # no role: the shared values
    assert (shared["lr"], shared["betas"]) == (cell.train_config()["lr"], (0.0, 0.999))


def test_a_role_table_enters_the_id_and_the_label_and_its_absence_changes_neither(write_suite, registry):
    [plain] = cells(write_suite, registry, SUITE.format(train="", matrix=""))
    [ttur] = cells(write_suite, registry, SUITE.format(train="", matrix=TTUR))
    [adam_only] = cells(write_suite, registry, SUITE.format(train="", matrix='optimizers = ["adam"]'))
    assert adam_only.cell_id == plain.cell_id != ttur.cell_id
    assert "generator.lr" in ttur.resolved()["optimizer"]["params"]
    assert "generator.lr=0.0001" in ttur.component("optimizer").label


@pytest.mark.parametrize("entry, message", [
    ('{ name = "adam", generator = { lrr = 1e-4 } }', r"optimizers\[0\] \(adam\)\.generator\.lrr: unknown key 'lrr'"),
    ('{ name = "adam", discriminator = { lr = -1.0 } }', r"discriminator\.lr: -1.0 is below the minimum 0"),
    ('{ name = "adam", generator = 1e-4 }', r"generator: expected a table of the generator's own settings"),
    ('{ name = "sgd", generator = { beta1 = 0.0 } }', r"generator\.beta1: unknown key 'beta1'"),
    ('{ name = "adam", critic = { lr = 1e-4 } }', r"unknown key 'critic'.*discriminator"),
])
def test_a_bad_role_table_is_a_config_error(write_suite, registry, entry, message):
    with pytest.raises(ConfigError, match=message):
        cells(write_suite, registry, SUITE.format(train="", matrix=f"optimizers = [{entry}]"))


def test_a_role_the_family_lacks_is_refused(tmp_path, registry):
    path = tmp_path / "ae.toml"
    path.write_text('[matrix]\ndatasets = ["digits"]\nmodels = ["ae-deep"]\nobjectives = ["mse"]\n'
                    'optimizers = [{ name = "adam", generator = { lr = 1e-4 } }]\n')
    with pytest.raises(ConfigError, match=r"gives the generator its own settings, but family 'autoencoder'"):
        config.load(str(path), registry)


def test_search_draws_each_networks_settings_apart_and_set_reaches_them(write_suite, registry):
    search = ("[search]\ntrials = 3\noptimizer.discriminator.lr = { log_uniform = [1e-4, 1e-3] }\n"
              "optimizer.generator.beta1 = { uniform = [0.0, 0.5] }")
    drawn = cells(write_suite, registry, SUITE.format(train="", matrix="") + search)
    values = [c.component("optimizer").kwargs() for c in drawn]
    assert len({v["discriminator.lr"] for v in values}) == 3
    assert all(1e-4 <= v["discriminator.lr"] <= 1e-3 for v in values)
    assert all("generator.lr" not in v and 0 <= v["generator.beta1"] <= 0.5 for v in values)
    assert [dict(c.search)["optimizer.discriminator.lr"] for c in drawn] == [v["discriminator.lr"] for v in values]
    misspelt = r"optimizer\.discriminator\.lrr: no optimizer .*'discriminator\.lrr'. Did you mean: discriminator\.lr"
    with pytest.raises(ConfigError, match=misspelt):
        cells(write_suite, registry, SUITE.format(train="", matrix="") +
              "[search]\ntrials = 2\noptimizer.discriminator.lrr = { uniform = [0.1, 0.2] }")
    [over] = cells(write_suite, registry, SUITE.format(train="", matrix=TTUR), "matrix.optimizers.0.generator.lr=3e-4")
    assert over.component("optimizer").kwargs()["generator.lr"] == 3e-4


# EMA -------------------------------------------------------------------------------------------

def parameters_of(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


@pytest.mark.parametrize("start", [0, 2])
def test_the_ema_equals_a_hand_computed_average_after_three_steps(start):
    setup = mlp_setup(ema_decay=0.9, ema_start=start)
    G = setup.model.generator
    seen = [parameters_of(G)]  # theta_0, then theta after each step
    steps = []
    for step in train_gan(setup):
        steps.append(step)
        seen.append(parameters_of(G))
    expected = seen[0]
    for t in (1, 2, 3):
        expected = seen[t] if t <= start else [0.9 * e + 0.1 * p for e, p in zip(expected, seen[t], strict=True)]
    averaged = steps[-1].context.model.generator
    assert averaged is not G
    for mine, hand in zip(averaged.parameters(), expected, strict=True):
        torch.testing.assert_close(mine, hand, rtol=1e-6, atol=1e-7)
    for mine, theirs in zip(averaged.buffers(), G.buffers(), strict=True):  # batch norm's running statistics
        assert torch.equal(mine, theirs)
    # metrics and pictures sample the average, from the fixed eval noise
    expected_samples = make_sampler(averaged, 2, 0, torch.device("cpu"))(50)
    assert torch.equal(steps[-1].context.sample(50), expected_samples)
    assert not torch.equal(expected_samples, make_sampler(G, 2, 0, torch.device("cpu"))(50))


def saved(state: dict) -> dict:
    """A trainer state through a checkpoint file's round trip."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_the_ema_resumes_bit_identically_from_a_checkpoint():
    options = {"steps": 6, "ema_decay": 0.8, "diffaugment": "translation,cutout,color"}
    straight = list(train_gan(dcgan_setup(**options)))
    first = dcgan_setup(**options)
    checkpoint = next(saved(s.state()) for s in train_gan(first) if s.step == 3)
    assert "generator_ema" in checkpoint["modules"]
    resumed = dcgan_setup(**options)
    resumed.resume = Resume(3, checkpoint)
    rest = list(train_gan(resumed))
    assert [s.step for s in rest] == [4, 5, 6]
    for a, b in zip(straight[3:], rest, strict=True):
        assert {k: v.item() for k, v in a.stats.items()} == {k: v.item() for k, v in b.stats.items()}
    for a, b in zip(straight[-1].context.model.generator.state_dict().values(),
                    rest[-1].context.model.generator.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_ema_eval_both_scores_the_average_and_the_trained_g(write_suite, registry):
    train = 'ema_decay = 0.9\nema_eval = "both"'
    [cell] = cells(write_suite, registry, SUITE.format(train=train, matrix=""))
    result = run_cell(cell, registry)
    assert result.status == "done", result.error
    rows = {row.name: row for row in result.metrics if "metric" in row.provenance}
    assert {"modes", "modes_raw", "reverse_kl", "reverse_kl_raw"} <= set(rows)
    assert rows["modes_raw"].provenance["variant"] == "raw" and "variant" not in rows["modes"].provenance
    assert rows["modes_raw"].provenance["outputs"]["modes_raw"]["label"].endswith("(raw)")
    assert len([a for a in result.artifacts if a.step == 10]) == 1  # one picture: the average's


def test_new_train_settings_stay_out_of_ids_at_their_defaults_and_rescore_finds_them(write_suite, registry):
    [plain] = cells(write_suite, registry, SUITE.format(train="", matrix=""))
    [explicit] = cells(write_suite, registry, SUITE.format(
        train='ema_decay = 0.0\nprecision = "fp32"\ndiffaugment = ""\nema_eval = "ema"', matrix=""))
    [ema] = cells(write_suite, registry, SUITE.format(train="ema_decay = 0.999", matrix=""))
    assert plain.cell_id == explicit.cell_id != ema.cell_id
    assert "precision" not in plain.resolved()["train"] and plain.train_config()["precision"] == "fp32"
    for cell in (plain, ema):
        row = StoredCell(cell.cell_id, cell.axis_labels, 0, "done", {"config": json.dumps(cell.resolved())})
        assert stored_cell(row, "options", registry).train_config() == cell.train_config()


@pytest.mark.parametrize("train, message", [
    ('ema_eval = "both"', r"ema_eval = 'both' chooses between G and its weight average, but ema_decay = 0"),
    ("ema_start = 100", r"ema_start is the weight average's warm-up"),
    ("ema_decay = 1.0", r"train.ema_decay: 1.0 is above the maximum"),
    ('diffaugment = "color"', r"diffaugment = 'color' augments images \(C, H, W\), but the data is points data"),
    ('precision = "fp8"', r"train.precision: 'fp8' is not one of 'fp32', 'bf16', 'fp16'"),
])
def test_settings_that_cannot_train_are_config_errors_before_any_work(write_suite, registry, train, message):
    with pytest.raises(ConfigError, match=message):
        cells(write_suite, registry, SUITE.format(train=train, matrix=""))


def test_the_trainer_refuses_what_a_search_drew_past_the_suite_check():
    with pytest.raises(ValueError, match=r"diffaugment = 'cutout' augments images"):
        next(train_gan(mlp_setup(diffaugment="cutout")))


# DiffAugment -----------------------------------------------------------------------------------

def test_diffaugment_policies_keep_gradients_and_follow_the_reference_parameters():
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    augment = diffaugment.augmenter("translation,cutout,color", torch.Generator().manual_seed(0))
    (augment(x) * torch.randn(4, 3, 16, 16)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    with torch.no_grad():
        shifted = diffaugment.translation(x, torch.Generator().manual_seed(1))
        rows, cols = (torch.randint(-2, 3, (4, 1), generator=g) for g in [torch.Generator().manual_seed(1)] * 2)
        for b in range(4):  # out[i, j] = x[i + r, j + c], zero outside: s = round(16 / 8) = 2
            r, c = rows[b].item(), cols[b].item()
            expected = torch.zeros(3, 16, 16)
            expected[:, max(0, -r):16 - max(0, r), max(0, -c):16 - max(0, c)] = \
                x[b, :, max(0, r):16 - max(0, -r), max(0, c):16 - max(0, -c)]
            assert torch.equal(shifted[b], expected)
        holes = (diffaugment.cutout(torch.ones(64, 1, 16, 16), torch.Generator().manual_seed(2)) == 0).sum((1, 2, 3))
        assert holes.max() == 64 and holes.min() >= 16  # an 8 x 8 square, at worst a quarter inside
        brighter = diffaugment.brightness(torch.zeros(64, 1, 2, 2), torch.Generator().manual_seed(3))
        assert brighter.min() >= -0.5 and brighter.max() < 0.5 and (brighter == brighter[:, :, :1, :1]).all()


def test_diffaugment_reaches_g_through_d_in_the_generator_step():
    setup = dcgan_setup(diffaugment="translation,cutout,color")
    G, D = setup.model.generator, setup.model.discriminator
    torch.manual_seed(0)
    fake = G(torch.randn(8, 8))
    augment = diffaugment.augmenter("translation,cutout,color", torch.Generator().manual_seed(0))
    D(augment(fake)).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())
    steps = list(train_gan(setup))
    assert all(0 < s.stats["g_grad_norm"] < float("inf") for s in steps)


# The base trainer's numbers (commit 6be7ac0, before these options): with every option at its
# default the trainer computes exactly these (loss_d, loss_g, g_grad_norm) for 3 steps.
BEFORE = {
    "dcgan": [(1.3873012065887451, 0.6931241750717163, 0.004983927123248577),
              (1.3865816593170166, 0.6931009292602539, 0.003653249703347683),
              (1.385303258895874, 0.6931203007698059, 0.003622059477493167)],
    "mlp": [(7.035594463348389, -0.3674159646034241, 0.20766061544418335),
            (7.17462158203125, -0.37787994742393494, 0.21562287211418152),
            (7.084479331970215, -0.35813477635383606, 0.17946872115135193)],
}


def losses(setup: TrainSetup) -> list[float]:
    """loss_d, loss_g, g_grad_norm of each step, one flat list."""
    torch.manual_seed(1)
    return [s.stats[k].item() for s in train_gan(setup) for k in ("loss_d", "loss_g", "g_grad_norm")]


def test_with_every_option_off_the_numbers_are_those_of_before():
    dcgan = dcgan_setup(gan.nonsaturating(k=2), g_noise="reuse")
    assert losses(dcgan) == pytest.approx(sum(BEFORE["dcgan"], ()), rel=1e-6)
    data = ring8(256, 16, 0)
    torch.manual_seed(0)
    model = make_mlp_gan(data.info, hidden=8, depth=1, z_dim=2, pack=2)
    mlp = TrainSetup(data, model, gan.wgan_gp(k=2, r1=1.0), adam, {**TRAIN, "g_noise": "fresh"}, 0, torch.device("cpu"))
    assert losses(mlp) == pytest.approx(sum(BEFORE["mlp"], ()), rel=1e-6)
    augmented = losses(dcgan_setup(gan.nonsaturating(k=2), g_noise="reuse", diffaugment="translation,cutout,color"))
    assert augmented != pytest.approx(sum(BEFORE["dcgan"], ()), rel=1e-6)
    again = losses(dcgan_setup(gan.nonsaturating(k=2), g_noise="reuse", diffaugment="translation,cutout,color"))
    assert again == augmented  # its draws come from the trainer's seeded generator


def test_the_options_read_nothing_back_from_the_device(host_reads):
    setup = dcgan_setup(gan.wgan_clip(k=2), steps=4, ema_decay=0.9, ema_start=1,
                        diffaugment="translation,cutout,color", precision="bf16")
    host_reads.clear()
    for _ in train_gan(setup):
        pass
    assert host_reads == []


# Losses ----------------------------------------------------------------------------------------

def test_weight_clipping_clips_every_d_weight_after_each_critic_step():
    setup = mlp_setup(gan.wgan_clip(k=2, clip=0.01))
    assert max(p.abs().max() for p in setup.model.discriminator.parameters()) > 0.01
    calls = []
    clip = setup.objective.after_discriminator_step
    setup.objective.after_discriminator_step = lambda D: (calls.append(torch.is_grad_enabled()), clip(D))
    trainer = train_gan(setup)
    next(trainer)
    assert calls == [False, False]  # after each of the k critic steps, without grad
    weights = torch.cat([p.flatten() for p in setup.model.discriminator.parameters()])
    assert weights.abs().max() <= 0.01 and (weights.abs() == 0.01).any()


def test_dragan_penalty_equals_a_hand_computation():
    class Quadratic(torch.nn.Module):  # D(x) = 1/2 sum_i a_i x_i^2, so grad D(x) = a * x
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.tensor([0.5, 2.0, -1.0]))

        def forward(self, x):
            return 0.5 * (self.a * x**2).sum(1)

    real = torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0], [2.0, 1.0, 1.0], [-1.0, 0.0, 2.0]])
    objective = gan.dragan(gp=10.0, c=0.5)
    torch.manual_seed(0)
    penalty = objective.penalty(Quadratic(), real, real.flip(0))
    torch.manual_seed(0)
    u, alpha = torch.rand(4, 3), torch.rand(4, 1)  # per element, then per example
    std = ((real - real.mean()) ** 2).mean().sqrt()  # over the whole batch, ddof 0 as the authors' numpy
    x_hat = real + alpha * 0.5 * std * u
    slopes = (torch.tensor([0.5, 2.0, -1.0]) * x_hat).pow(2).sum(1).sqrt()
    torch.testing.assert_close(penalty, 10.0 * ((slopes - 1) ** 2).mean())
    assert objective.double_backward and objective.d_steps == 1


def test_the_new_objectives_are_registered_with_the_papers_settings(registry):
    clip, dragan = registry.get("objective", "wgan-clip"), registry.get("objective", "dragan")
    assert {k: p.default for k, p in clip.params.items()} == {"k": 5, "clip": 0.01, "r1": 0.0, "acgan": 0.0}
    assert dict(clip.train_defaults) == {"lr": 5e-5}
    assert {k: p.default for k, p in dragan.params.items()} == {"k": 1, "gp": 10.0, "c": 0.5, "r1": 0.0, "acgan": 0.0}
    setup = mlp_setup(gan.dragan(k=1))
    assert all(torch.isfinite(s.stats["loss_d"]) for s in train_gan(setup))


# Mixed precision -------------------------------------------------------------------------------

def test_bf16_runs_the_forward_passes_in_bf16_and_the_losses_in_fp32():
    setup = dcgan_setup(precision="bf16")
    dtypes = set()
    setup.model.discriminator.register_forward_hook(lambda module, inputs, output: dtypes.add(output.dtype))
    steps = list(train_gan(setup))
    assert dtypes == {torch.bfloat16}
    assert all(s.stats["loss_d"].dtype == torch.float32 and torch.isfinite(s.stats["loss_d"]) for s in steps)
    assert all(p.dtype == torch.float32 for p in setup.model.generator.parameters())  # weights stay fp32
    assert steps[0].context.sample(4).dtype == torch.float32  # evaluation runs in fp32


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_a_cell_of_every_family_runs_end_to_end_in_reduced_precision_and_records_it(write_suite, registry,
                                                                                     precision):
    text = SUITE.format(train=f'precision = "{precision}"', matrix="") + """
[[matrix]]
datasets = [{ name = "digits", n_train = 128 }]
models = [{ name = "ae-deep", hidden = [16], code_dim = 4, variational = true }]
objectives = ["vae"]
[[matrix]]
datasets = [{ name = "digits-bin", n_train = 128 }]
models = [{ name = "rbm", n_hidden = 16 }]
objectives = ["cd"]
train = { sample_steps = 5 }
[[matrix]]
datasets = ["digits-tinted"]
models = [{ name = "vfae", hidden = 16, z_dim = 4, z2_dim = 4 }]
objectives = ["vfae"]
"""
    text = text.replace("[matrix]\n", "[[matrix]]\n", 1)
    ran = [run_cell(cell, registry) for cell in cells(write_suite, registry, text)]
    assert [r.status for r in ran] == ["done"] * 4, [r.error for r in ran]
    assert all(r.env["precision"] == precision for r in ran)


# Documentation ---------------------------------------------------------------------------------

def test_every_new_option_is_listed_with_a_description():
    listed = CliRunner().invoke(cli, ["list", "--params"], env={"COLUMNS": "1000"})
    assert listed.exit_code == 0, listed.output
    lines = [line.strip() for line in listed.output.splitlines()]  # piped: a description's lines under it
    for option in ("ema_decay", "ema_start", "ema_eval", "diffaugment", "precision", "clip", "gp", "c"):
        assert any(re.match(rf"{option}: \w+, default .*: \w", line) for line in lines), option
    assert sum(line.startswith("precision: str, default 'fp32'") for line in lines) == 4  # every family
    assert any("optimizer roles generator, discriminator" in line for line in lines)
    assert any(line.startswith("wgan-clip") or "weight clipping" in line for line in lines)


def test_the_readme_example_of_the_options_is_a_valid_suite(tmp_path, registry):
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## GAN training options", 1)[1]
    [example] = re.findall(r"```toml\n(.*?)```", section.split("\n## ", 1)[0], re.DOTALL)
    path = tmp_path / "readme.toml"
    path.write_text(example)
    suite = plan.expand(config.load(str(path), registry), registry)
    assert len(suite) == 3 and suite[0].train_config()["diffaugment"] == "translation,cutout,color"
    assert suite[0].component("optimizer").kwargs()["discriminator.lr"] == 4e-4
