"""The autoencoder family: minibatch gradient descent on the objective's loss.

    for each step: sample m examples x ~ p_data; loss, parts = objective.loss(model, x, rng);
                   one optimiser step on loss

The objective object supplies `variational` and `loss(model, x, generator) -> (loss, parts)`
(parts: detached 0-d tensors such as recon, kl, sparsity, contraction). The model is an AEModel
(see genbench.plugins.models.autoencoders: encode, decode, reconstruct, generate, code_dim,
variational). Everything random (minibatches, corruption noise, the VAE's eps) comes from one
generator on the training device, seeded by the cell. Each step yields `loss` and its parts;
metrics get `reconstruct` and `model`, and `sample(n)` for a VAE (None for a plain autoencoder:
it has no prior to sample from, so sample-based metrics skip it). Each step's `state` is the
model's, optimiser's, generator's and sampler's state; with setup.resume the trainer continues
after that step, and `evaluate_autoencoder` rebuilds the eval context from it (genbench rescore).
`precision` (bf16, fp16) runs the objective's loss under autocast (common.MixedPrecision).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from genbench import EvalContext, FamilySpec, Statistic, TrainSetup, TrainStep, hookimpl
from genbench import kernels
from genbench.plugins.models.autoencoders import AEModel

from .common import (
    PRECISION,
    MixedPrecision,
    Minibatches,
    eval_noise,
    in_eval_mode,
    load_modules,
    resume_parts,
    settings,
)

PARAMS = {"precision": PRECISION}

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
    objective, device, cfg = setup.objective, setup.device, settings(setup, PARAMS)
    check_pairing(model, objective)
    network = model.to(device)
    if not getattr(objective, "double_backward", False):  # torch.compile has no double backward
        network = kernels.prepare(network)
    optimiser = setup.optimizer(network.parameters())
    rng = torch.Generator(device=device).manual_seed(setup.seed)
    batches = Minibatches(setup.data.train.to(device), cfg["batch_size"], rng)
    amp = MixedPrecision(cfg["precision"], device)
    # metrics use the model object: it shares its parameters with the network being trained
    context = autoencoder_context(setup)
    checkpointed = ({"model": model}, {"model": optimiser, **amp.state()}, rng, batches)
    first, state = resume_parts(setup, *checkpointed)

    for step in range(first, cfg["steps"] + 1):
        x = batches.next()  # (m, *shape)
        with amp.autocast():
            loss, parts = objective.loss(network, x, rng)
        amp.backward(loss.float(), optimiser)
        amp.step(optimiser)
        yield TrainStep(step, {"loss": loss.detach(), **parts}, cfg["batch_size"], context, state)


def autoencoder_context(setup: TrainSetup) -> EvalContext:
    """What metrics get: reconstructions, the model object, and samples for a VAE."""
    model: AEModel = setup.model
    return EvalContext(setup.data, setup.seed, 0, setup.device,
                       sample=make_sampler(model, setup.seed, setup.device) if model.variational else None,
                       reconstruct=make_reconstructor(model), model=model)


def evaluate_autoencoder(setup: TrainSetup, state: dict) -> EvalContext:
    """The eval context of a trained autoencoder, loaded from a trainer state."""
    setup.model.to(setup.device)
    load_modules({"model": setup.model}, state)
    return autoencoder_context(setup)


@hookimpl
def register_families(register):
    register(FamilySpec("autoencoder", "minibatch descent on a reconstruction, penalised or ELBO loss",
                        train_autoencoder, PARAMS, statistics=STATISTICS, model_type=AEModel,
                        evaluator=evaluate_autoencoder, objective_contract={"loss": 3},
                        # code: model.encode(x); posterior: a VAE's q(z|x) and p(x|z) (encode, decode)
                        provides=("samples", "reconstructions", "model", "code", "posterior")))
