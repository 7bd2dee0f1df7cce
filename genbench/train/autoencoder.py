"""The autoencoder trainer: minibatch Adam on the objective's loss, for train["steps"] steps.

    for each step: sample m examples x ~ p_data; loss, parts = objective.loss(model, x, rng);
                   one Adam step on loss

The objective object supplies `variational` and `loss(model, x, generator) -> (loss, parts)`
(parts: detached scalars such as recon, kl, sparsity). The model is an AEModel (see
genbench.plugins.models.autoencoders, duck-typed here: reconstruct, generate, code_dim,
variational). Everything random (minibatches, corruption noise, the VAE's eps) comes from one
generator seeded by the cell. At each eval step the trainer records the averages since the
previous eval of `loss` and its parts, and hands the metrics an EvalContext with
`reconstruct` and `model`, and `sample(n)` for a VAE (None for a plain autoencoder: it has no
prior to sample from, so sample-based metrics skip it).
"""

from __future__ import annotations


import torch

from genbench import EvalContext, TrainerSpec, TrainSetup, TrainStats, hookimpl

from .common import EVAL_NOISE_OFFSET, SAMPLE_CHUNK, IntervalMeans, Minibatches, TrainClock, check_finite


def check_pairing(model, objective) -> None:
    """A VAE objective needs a variational model and the other objectives a plain one."""
    if objective.variational and not model.variational:
        raise ValueError("the vae objective needs a variational model: set variational = true on the model")
    if model.variational and not objective.variational:
        raise ValueError("a variational model (variational = true) trains only with the vae objective; "
                         "set variational = false or use objective 'vae'")


def in_eval_mode(model: torch.nn.Module, fn, inputs: torch.Tensor) -> torch.Tensor:
    """fn applied chunk by chunk to inputs (n, ...) on the model's device, eval mode, no grad;
    the result comes back on the inputs' device."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = torch.cat([fn(chunk.to(device)) for chunk in inputs.split(SAMPLE_CHUNK)])
    model.train(was_training)
    return out.to(inputs.device)


def make_reconstructor(model):
    """reconstruct(x): x (n, *shape) -> the model's output for x in data space (n, *shape)."""

    def reconstruct(x: torch.Tensor) -> torch.Tensor:
        return in_eval_mode(model, model.reconstruct, x)

    return reconstruct


def make_sampler(model, seed: int):
    """sample(n): decode a fixed z ~ N(0, I) (the same at every eval step) into data space."""

    def sample(n: int) -> torch.Tensor:
        noise = torch.Generator().manual_seed(seed + EVAL_NOISE_OFFSET)
        z = torch.randn(n, model.code_dim, generator=noise)  # (n, code_dim)
        return in_eval_mode(model, model.generate, z.to(next(model.parameters()).device))

    return sample


def train_autoencoder(setup: TrainSetup) -> TrainStats:
    model, objective = setup.model, setup.objective
    check_pairing(model, objective)
    device, cfg = setup.device, setup.train
    model.to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]))
    rng = torch.Generator().manual_seed(setup.seed)
    batches = Minibatches(setup.data.train.to(device), cfg["batch_size"], rng)
    reconstruct = make_reconstructor(model)
    sample = make_sampler(model, setup.seed) if model.variational else None

    means, clock = IntervalMeans(), TrainClock()
    for step in range(1, cfg["steps"] + 1):
        clock.start()
        x = batches.next()  # (m, *shape)
        loss, parts = objective.loss(model, x, rng)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        stats = {"loss": loss.item(), **{name: value.item() for name, value in parts.items()}}
        clock.stop(step)
        check_finite(step, stats, ("loss",))
        means.add(stats)
        setup.progress(step)
        if step in setup.eval_steps:
            setup.record(step, means.pop())
            setup.evaluate(step, EvalContext(setup.data, setup.seed, step, device, sample=sample,
                                             reconstruct=reconstruct, model=model))
    return TrainStats(steps=cfg["steps"], train_time_s=clock.total, samples_seen=cfg["steps"] * cfg["batch_size"],
                      warmup_steps=1, warmup_time_s=clock.warmup)


@hookimpl
def register_trainers(register):
    register(TrainerSpec("autoencoder", "minibatch Adam on a reconstruction, penalised or ELBO loss",
                         train_autoencoder))
