"""The rbm family: restricted Boltzmann machines trained by a contrastive-divergence objective.

    before training: visible biases <- the log-odds of the training data's pixel marginals
    for each step:   sample m training images v; negatives v' = objective.negatives(model, v, rng)
                     loss = mean F(v) - mean F(v') (v' held fixed); one optimiser step on loss

The objective object (genbench.plugins.objectives.rbm: cd, pcd) supplies `negatives`. The
optimiser gets two parameter groups, the weights and the biases, and the biases have no weight
decay (Hinton's practical guide applies the weight cost to the weights only). Everything random
(minibatches, Gibbs chains, the statistics' held-out batch and flipped bits) comes from one
generator on the training device, seeded by the cell. An RBM has no forward network for
kernels.prepare to compile, so the kernel axis leaves its cells unchanged (use `eager`).

Each step yields, as 0-d tensors on the device:
- `fe_diff`: the loss, mean F(data) - mean F(negatives) (must stay finite);
- `recon`: squared reconstruction error per image, |v - p(v | p(h | v))|^2 (Hinton's guide);
- `fe_gap`: mean F(held-out batch) - mean F(training batch), an overfitting signal: it grows
  when the model gives training images more probability than held-out ones (NaN without a
  test split);
- `pseudo_ll`: the stochastic pseudo-log-likelihood per image, D log sigmoid(F(v~) - F(v)) with
  v~ = v with one random bit flipped per image (as scikit-learn's BernoulliRBM scores).

Samples for metrics and pictures: `sample_steps` of Gibbs sampling from a start fixed per seed
(`sample_start`: each pixel drawn from the training data's marginals, or random training
images), drawn with a CPU generator seeded by the cell (the same chains at every eval step and
on every device); the final binary visible states, in data space {-1, 1}.
`precision` (bf16, fp16) runs the negative phase and the loss under autocast
(common.MixedPrecision); the statistics are computed in fp32.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from genbench import EvalContext, FamilySpec, Param, Statistic, TrainSetup, TrainStep, hookimpl
from genbench.plugins.models.rbm import RBM, bernoulli

from .common import EVAL_NOISE_OFFSET, PRECISION, SAMPLE_CHUNK, MixedPrecision, Minibatches, settings

PARAMS = {
    "sample_steps": Param(500, "Gibbs steps of the chains that draw samples for metrics and pictures",
                          min=1, max=1_000_000),
    "sample_start": Param("marginals", "where sampling chains start: pixels drawn from the data's marginals, "
                          "or random training images", choices=("marginals", "data")),
    "precision": PRECISION,
}
STATISTICS = {
    "fe_diff": Statistic("F(data) - F(negatives)", finite=True),
    "recon": Statistic("reconstruction error", "squared, per image", column=True),
    "fe_gap": Statistic("F(held-out) - F(train)", "nats", column=True),
    "pseudo_ll": Statistic("pseudo-log-likelihood", "nats", column=True),
}


def contrastive_loss(model: RBM, v: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
    """mean F(v) - mean F(negatives) for data v (m, D) and negatives (m', D) held fixed: its
    gradient is minus the CD estimate of the log-likelihood gradient, e.g. for W
    -(<p(h|v) v^T>_data - <p(h|v') v'^T>_negatives)."""
    return model.free_energy(v).mean() - model.free_energy(negatives.detach()).mean()


def statistics(model: RBM, v: torch.Tensor, v_held_out: torch.Tensor | None,
               generator: torch.Generator) -> dict[str, torch.Tensor]:
    """recon, fe_gap and pseudo_ll of a training batch v (m, D) and a held-out batch, as 0-d tensors."""
    with torch.no_grad():
        free_energy = model.free_energy(v)  # (m,)
        recon = (v - model.visible_probs(model.hidden_probs(v))).pow(2).sum(1).mean()
        if v_held_out is None:
            gap = torch.tensor(float("nan"), device=v.device)
        else:
            gap = model.free_energy(v_held_out).mean() - free_energy.mean()
        bit = torch.randint(v.shape[1], (len(v),), generator=generator, device=generator.device).to(v.device)  # (m,)
        flipped = v.clone()
        rows = torch.arange(len(v), device=v.device)
        flipped[rows, bit] = 1 - flipped[rows, bit]
        pseudo_ll = v.shape[1] * torch.nn.functional.logsigmoid(model.free_energy(flipped) - free_energy).mean()
    return {"recon": recon, "fe_gap": gap, "pseudo_ll": pseudo_ll}


def make_sampler(model: RBM, train_v: torch.Tensor, steps: int, start: str, seed: int):
    """sample(n): n Gibbs chains run `steps` steps from a fixed start -> (n, *shape) in {-1, 1}."""

    def sample(n: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed + EVAL_NOISE_OFFSET)
        device = model.weight.device
        if start == "data":
            v = train_v[torch.randint(len(train_v), (n,), generator=generator)]  # (n, D)
        else:
            v = bernoulli(train_v.mean(0).expand(n, -1), generator)  # (n, D)
        with torch.no_grad():
            chains = [model.gibbs(chunk.to(device), steps, generator) for chunk in v.split(SAMPLE_CHUNK)]
        return model.to_data(torch.cat(chains))

    return sample


def train_rbm(setup: TrainSetup) -> Iterator[TrainStep]:
    model: RBM = setup.model
    objective, device, cfg = setup.objective, setup.device, settings(setup, PARAMS)
    model.to(device)
    model.init_visible_bias(setup.data.train)
    optimiser = setup.optimizer([{"params": [model.weight]},
                                 {"params": [model.visible_bias, model.hidden_bias], "weight_decay": 0.0}])
    rng = torch.Generator(device=device).manual_seed(setup.seed)
    train_v = model.to_visible(setup.data.train)  # (N, D) on the CPU, for the sampler's starts
    batches = Minibatches(train_v.to(device), cfg["batch_size"], rng)
    test = setup.data.test
    held_out = None if test is None or len(test) == 0 else Minibatches(
        model.to_visible(test).to(device), min(cfg["batch_size"], len(test)), rng)
    context = EvalContext(setup.data, setup.seed, 0, device, model=model,
                          sample=make_sampler(model, train_v, cfg["sample_steps"], cfg["sample_start"], setup.seed))

    amp = MixedPrecision(cfg["precision"], device)

    for step in range(1, cfg["steps"] + 1):
        v = batches.next()  # (m, D)
        with amp.autocast():
            negatives = objective.negatives(model, v, rng)  # (m', D), no grad
            loss = contrastive_loss(model, v, negatives).float()
        amp.backward(loss, optimiser)
        amp.step(optimiser)
        stats = statistics(model, v, None if held_out is None else held_out.next(), rng)
        yield TrainStep(step, {"fe_diff": loss.detach(), **stats}, cfg["batch_size"], context)


@hookimpl
def register_families(register):
    register(FamilySpec("rbm", "restricted Boltzmann machines: SGD on the free-energy difference of a CD objective",
                        train_rbm, PARAMS, statistics=STATISTICS, model_type=RBM, objective_contract={"negatives": 3},
                        provides=("samples", "model", "energy")))  # energy: the RBM's free energy and weights
