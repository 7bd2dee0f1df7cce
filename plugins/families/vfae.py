"""The vfae family: minibatch descent on the variational fair autoencoder's loss.

    for each step: draw m training indices; x, s, y = the examples, their sensitive attribute
                   and labels; loss, parts = objective.loss(model, x, s, y, rng); one optimiser step

It is a family of its own, not an autoencoder objective, because its batches carry s and y beside
x (the autoencoder family's objectives see x alone), its model is a VFAEModel and its data must
have a sensitive attribute (the model's `fits` refuses other datasets before any work). The
objective supplies `loss(model, x, s, y, generator) -> (loss, parts)`. Everything random comes
from one generator on the training device, seeded by the cell. Metrics get `model` (the fairness
metric reads model.represent(x, s)) and `sample(n)`: ancestral draws from p(z2) with the labels
cycling through the classes and s alternating 0, 1. Steps are checkpointed like the autoencoder
family's, and `evaluate_vfae` rebuilds the eval context from a checkpoint (genbench rescore).
`precision` (bf16, fp16) runs the objective's loss under autocast (common.MixedPrecision).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from genbench import EvalContext, FamilySpec, Statistic, TrainSetup, TrainStep, hookimpl
from genbench import kernels
from genbench.plugins.datasets.sensitive import SENSITIVE, missing_sensitive
from genbench.plugins.models.vfae import VFAEModel

from .common import PRECISION, MixedPrecision, Minibatches, eval_noise, load_modules, resume_parts, settings

PARAMS = {"precision": PRECISION}

STATISTICS = {
    "loss": Statistic("loss", column=True, finite=True),
    "neg_elbo": Statistic("-ELBO", unit="nats"),
    "recon": Statistic("-log p(x|z1,s)", unit="nats"),
    "kl": Statistic("KL(z1) + KL(z2)", unit="nats"),
    "classification": Statistic("-log q(y|z1)", unit="nats", column=True),
    "mmd": Statistic("MMD^2(z1 | s=0, z1 | s=1)", column=True),
}


def make_sampler(model: VFAEModel, seed: int, device: torch.device):
    """sample(n): decode the fixed z2 ~ N(0, I), y = 0, 1, ..., K-1, 0, ... and s = 0, 1, 0, ... into data space."""

    def sample(n: int) -> torch.Tensor:
        z2 = eval_noise(n, model.z2_dim, seed)  # (n, z2_dim)
        index = torch.arange(n)
        was_training = model.training
        model.eval()
        with torch.no_grad():
            out = model.generate(z2.to(device), (index % model.n_classes).to(device), (index % 2).to(device))
        model.train(was_training)
        return out

    return sample


def vfae_context(setup: TrainSetup) -> EvalContext:
    return EvalContext(setup.data, setup.seed, 0, setup.device, model=setup.model,
                       sample=make_sampler(setup.model, setup.seed, setup.device))


def train_vfae(setup: TrainSetup) -> Iterator[TrainStep]:
    model: VFAEModel = setup.model
    objective, device, cfg, data = setup.objective, setup.device, settings(setup, PARAMS), setup.data
    problem = missing_sensitive(data.info)
    if problem or data.train_labels is None:
        raise ValueError(f"the vfae family needs labels and a sensitive attribute: {problem or 'no train labels'}")
    network = kernels.prepare(model.to(device))
    optimiser = setup.optimizer(network.parameters())
    rng = torch.Generator(device=device).manual_seed(setup.seed)
    x_all, s_all, y_all = data.train.to(device), data.extras[SENSITIVE].to(device), data.train_labels.to(device)
    batches = Minibatches(torch.arange(len(x_all), device=device), cfg["batch_size"], rng)
    amp = MixedPrecision(cfg["precision"], device)
    context = vfae_context(setup)
    checkpointed = ({"model": model}, {"model": optimiser, **amp.state()}, rng, batches)
    first, state = resume_parts(setup, *checkpointed)

    for step in range(first, cfg["steps"] + 1):
        index = batches.next()  # (m,)
        with amp.autocast():
            loss, parts = objective.loss(network, x_all[index], s_all[index], y_all[index], rng)
        amp.backward(loss.float(), optimiser)
        amp.step(optimiser)
        yield TrainStep(step, {"loss": loss.detach(), **parts}, cfg["batch_size"], context, state)


def evaluate_vfae(setup: TrainSetup, state: dict) -> EvalContext:
    """The eval context of a trained VFAE, loaded from a trainer state."""
    setup.model.to(setup.device)
    load_modules({"model": setup.model}, state)
    return vfae_context(setup)


@hookimpl
def register_families(register):
    register(FamilySpec("vfae", "variational fair autoencoders: minibatch descent on -ELBO + classification + MMD",
                        train_vfae, PARAMS, statistics=STATISTICS, model_type=VFAEModel, evaluator=evaluate_vfae,
                        objective_contract={"loss": 5},
                        provides=("samples", "model", "code")))  # code: model.represent(x, s)
