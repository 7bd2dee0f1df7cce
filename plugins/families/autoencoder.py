"""The autoencoder family: minibatch gradient descent on the objective's loss.

    for each step: sample m examples x ~ p_data; loss, parts = objective.loss(model, x, rng);
                   one optimiser step on loss

The objective object supplies `variational` and `loss(model, x, generator) -> (loss, parts)`
(parts: detached 0-d tensors such as recon, kl, sparsity, contraction). The model is an AEModel
(see genbench.plugins.models.autoencoders: encode, decode, reconstruct, generate, code_dim,
variational). Everything random (minibatches, corruption noise, the VAE's eps) comes from one
generator on the training device, seeded by the cell. Each step yields `loss` and its parts;
metrics get `reconstruct` and `model`, and `sample(n)` for a VAE (None for a plain autoencoder:
it has no prior to sample from, so sample-based metrics skip it).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from genbench import EvalContext, FamilySpec, Statistic, TrainSetup, TrainStep, hookimpl
from genbench import kernels
from genbench.plugins.models.autoencoders import AEModel

from .common import Minibatches, eval_noise, in_eval_mode

STATISTICS = {
    "loss": Statistic("loss", column=True, finite=True),
    "recon": Statistic("reconstruction"),
    "kl": Statistic("KL(q(z|x) || p(z))"),
    "sparsity": Statistic("sparsity KL"),
    "contraction": Statistic("||dh/dx||^2"),
}


def check_pairing(model: AEModel, objective) -> None:
    """A VAE objective needs a variational model and the other objectives a plain one."""
    if objective.variational and not model.variational:
        raise ValueError("the vae objective needs a variational model: set variational = true on the model")
    if model.variational and not objective.variational:
        raise ValueError("a variational model (variational = true) trains only with the vae objective; "
                         "set variational = false or use objective 'vae'")


def make_reconstructor(model: AEModel):
    """reconstruct(x): x (n, *shape) -> the model's output for x in data space (n, *shape)."""

    def reconstruct(x: torch.Tensor) -> torch.Tensor:
        return in_eval_mode(model, model.reconstruct, x)

    return reconstruct


def make_sampler(model: AEModel, seed: int, device: torch.device):
    """sample(n): decode a fixed z ~ N(0, I) (the same at every eval step) into data space."""

    def sample(n: int) -> torch.Tensor:
        return in_eval_mode(model, model.generate, eval_noise(n, model.code_dim, seed).to(device))

    return sample


def train_autoencoder(setup: TrainSetup) -> Iterator[TrainStep]:
    model: AEModel = setup.model
    objective, device, cfg = setup.objective, setup.device, setup.train
    check_pairing(model, objective)
    network = model.to(device)
    if not getattr(objective, "double_backward", False):  # torch.compile has no double backward
        network = kernels.prepare(network)
    optimiser = setup.optimizer(network.parameters())
    rng = torch.Generator(device=device).manual_seed(setup.seed)
    batches = Minibatches(setup.data.train.to(device), cfg["batch_size"], rng)
    # metrics use the model object: it shares its parameters with the network being trained
    context = EvalContext(setup.data, setup.seed, 0, device,
                          sample=make_sampler(model, setup.seed, device) if model.variational else None,
                          reconstruct=make_reconstructor(model), model=model)

    for step in range(1, cfg["steps"] + 1):
        x = batches.next()  # (m, *shape)
        loss, parts = objective.loss(network, x, rng)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        yield TrainStep(step, {"loss": loss.detach(), **parts}, cfg["batch_size"], context)


@hookimpl
def register_families(register):
    register(FamilySpec("autoencoder", "minibatch descent on a reconstruction, penalised or ELBO loss",
                        train_autoencoder, statistics=STATISTICS, model_type=AEModel))
