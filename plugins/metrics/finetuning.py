"""Supervised fine-tuning of a classifier to convergence: early stopping on a validation split
held out from the labelled examples (the `pretraining` metric's protocol).

One network follows one seeded trajectory (Adam on cross-entropy, a fresh minibatch each
step). Every `check_every` steps it is scored on the validation split; once `patience` checks in
a row have not lowered the validation error, or at `max_steps`, the rule stops it and the
network gets back the weights of its best check: the fewest validation errors, and among checks
with as many errors the lowest validation cross-entropy (a few dozen validation examples tie
often on errors alone; the cross-entropy only picks among ties and never prolongs training, as
it can creep down long after the error has stopped moving). This is the early-stopping
meta-algorithm of Goodfellow, Bengio & Courville 2016 (Deep Learning, algorithm 7.1: check
every n steps, give up after p checks without improvement, return the best parameters).

The same trajectory read at a fixed step gives the equal-budget figure: checks never touch the
minibatch generator, so the network at step s is the one a plain s-step run would reach.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genbench import ConfigError


@dataclass(frozen=True)
class Stopping:
    """The early-stopping rule: see the module docstring."""

    val_fraction: float  # of each class's labelled examples, held out to decide when to stop
    patience: int  # checks without improvement before stopping
    check_every: int  # steps between checks (step 0, before training, is the first)
    max_steps: int  # the rule stops here at the latest


@dataclass(frozen=True)
class Finetuned:
    """Where one early-stopped run ended."""

    best_step: int  # the step whose weights the network holds
    stopped_at: int  # the step at which the rule stopped it
    probed: float  # probe(net) at the probe step, on the same trajectory


def minibatch(n: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """size indices in range(n), without replacement within the batch."""
    return torch.randperm(n, generator=generator)[:size]


def adam_steps(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, lr: float,
               seed: int) -> Iterator[int]:
    """Train net on x (n, D), y (n,) for as long as the caller iterates; yields the number of
    steps taken so far, 0 (before the first) included."""
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    step = 0
    while True:
        yield step
        index = minibatch(len(x), min(batch_size, len(x)), generator)  # (m,)
        loss = F.cross_entropy(net(x[index]), y[index])
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        step += 1


def finetune_fixed(net: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, batch_size: int, lr: float,
                   seed: int) -> nn.Module:
    """`steps` Adam steps on every example: the fixed-budget protocol."""
    for step in adam_steps(net, x, y, batch_size, lr, seed):
        if step == steps:
            return net


@torch.no_grad()
def validation_score(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[int, float]:
    """(errors, mean cross-entropy) on x (n, D), y (n,): lower is better, errors first."""
    logits = net(x)  # (n, classes)
    return int((logits.argmax(1) != y).sum()), F.cross_entropy(logits, y).item()


class EarlyStopping:
    """Keeps a copy of the weights at the best check, (errors, cross-entropy) lexicographically;
    says when `patience` checks in a row have not lowered the fewest errors seen."""

    def __init__(self, patience: int):
        self.patience, self.bad_checks = patience, 0
        self.best: tuple | None = None
        self.fewest_errors: int | None = None
        self.best_step, self.best_state = -1, None

    def check(self, step: int, net: nn.Module, score: tuple[int, float]) -> bool:
        """Record the (errors, cross-entropy) of net at step; True when training should stop."""
        if self.best is None or score < self.best:
            self.best, self.best_step = score, step
            self.best_state = copy.deepcopy(net.state_dict())
        if self.fewest_errors is None or score[0] < self.fewest_errors:
            self.fewest_errors, self.bad_checks = score[0], 0
        else:
            self.bad_checks += 1
        return self.bad_checks >= self.patience

    def restore(self, net: nn.Module) -> None:
        net.load_state_dict(self.best_state)


def finetune_early_stopping(net: nn.Module, fit: tuple[torch.Tensor, torch.Tensor],
                            val: tuple[torch.Tensor, torch.Tensor], rule: Stopping, batch_size: int, lr: float,
                            seed: int, probe_step: int, probe: Callable[[nn.Module], float]) -> Finetuned:
    """Train net on fit = (x, y) until the rule stops it on val = (x, y), and leave it with its
    best weights. probe(net) is read at probe_step of the same trajectory (training goes on past
    the stop when probe_step comes later; the weights kept are still the best before the stop)."""
    stopper, stopped_at, probed = EarlyStopping(rule.patience), None, None
    for step in adam_steps(net, *fit, batch_size, lr, seed):
        if step == probe_step:
            probed = probe(net)
        if stopped_at is None and (step % rule.check_every == 0 or step == rule.max_steps):
            if stopper.check(step, net, validation_score(net, *val)) or step >= rule.max_steps:
                stopped_at = step
        if stopped_at is not None and probed is not None:
            break
    stopper.restore(net)
    return Finetuned(stopper.best_step, stopped_at, probed)


def validation_split(labels: torch.Tensor, indices: torch.Tensor, fraction: float,
                     generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(fit, val) partition of indices into labels, per class: round(fraction * n_c) of a class's
    n_c examples (at least one) go to val, chosen at random; the rest, at least one, to fit."""
    fit, val = [], []
    for label in labels[indices].unique():
        members = indices[labels[indices] == label]  # (n_c,)
        members = members[torch.randperm(len(members), generator=generator)]
        n_val = max(1, round(fraction * len(members)))
        if n_val >= len(members):
            raise ConfigError(f"class {int(label)} has {len(members)} labelled example(s): holding out "
                              f"{fraction:g} of them for early stopping leaves none to train on; fix: "
                              f"more labels per class, a smaller val_fraction, or patience = 0 (fixed steps)")
        val.append(members[:n_val])
        fit.append(members[n_val:])
    return torch.cat(fit), torch.cat(val)
