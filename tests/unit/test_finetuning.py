"""Early stopping of the pretraining study's fine-tuning (plugins/metrics/finetuning.py)."""

import copy

import pytest
import torch
from genbench.plugins.metrics.finetuning import (
    EarlyStopping,
    Stopping,
    adam_steps,
    finetune_early_stopping,
    finetune_fixed,
    validation_score,
    validation_split,
)
from torch import nn

from genbench import ConfigError


def problem(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """x (n, 6), y (n,): the class is the sign of the first coordinate."""
    x = torch.randn(n, 6, generator=torch.Generator().manual_seed(seed))
    return x, (x[:, 0] > 0).long()


def network(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.Sigmoid(), nn.Linear(8, 2))


def weights(net: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in net.parameters()])


def test_early_stopping_counts_patience_on_errors_and_keeps_the_best_check():
    stopper, net = EarlyStopping(patience=2), nn.Linear(1, 1)
    scores = [(3, 0.5), (2, 0.9), (2, 0.8), (2, 0.85), (3, 0.1)]
    stops = []
    for step, score in enumerate(scores):
        with torch.no_grad():
            net.weight.fill_(step)
        stops.append(stopper.check(step, net, score))
    # errors last fell at check 1: checks 2 and 3 exhaust the patience (check 2's lower
    # cross-entropy picks it among the ties, but does not reset the count)
    assert stops == [False, False, False, True, True] and stopper.best_step == 2
    stopper.restore(net)
    assert net.weight.item() == 2


def test_a_validation_split_that_disagrees_with_training_stops_early_on_the_best_weights():
    """Validation labels are the training labels flipped: the more the network learns, the
    worse it validates, so the rule stops `patience` checks after the error last fell, with the
    weights of the best check."""
    x, y = problem()
    rule = Stopping(val_fraction=0.2, patience=3, check_every=5, max_steps=500)
    net = network()
    run = finetune_early_stopping(net, (x, y), (x, 1 - y), rule, 16, 0.05, seed=1, probe_step=0,
                                  probe=lambda _: 0.0)
    assert run.stopped_at < 100
    scores, replay = {}, network()  # the same trajectory, scored at every check up to the stop
    for step in adam_steps(replay, x, y, 16, 0.05, seed=1):
        if step % 5 == 0:
            scores[step] = validation_score(replay, x, 1 - y)
        if step == run.stopped_at:
            break
    fewest = min(errors for errors, _ in scores.values())
    assert run.stopped_at == min(s for s in scores if scores[s][0] == fewest) + 3 * 5
    assert run.best_step == min(scores, key=lambda s: (scores[s], s))
    kept = finetune_fixed(network(), x, y, run.best_step, 16, 0.05, seed=1)
    assert torch.equal(weights(net), weights(kept))


def test_the_equal_step_reading_is_a_plain_run_of_that_many_steps_even_past_the_stop():
    x, y = problem()
    rule = Stopping(val_fraction=0.2, patience=2, check_every=5, max_steps=20)  # stops at 20 at the latest
    for probe_step in (7, 60):
        net = network()
        run = finetune_early_stopping(net, (x, y), (x, y), rule, 16, 0.05, seed=2, probe_step=probe_step,
                                      probe=lambda trained: weights(trained).sum().item())
        plain = finetune_fixed(network(), x, y, probe_step, 16, 0.05, seed=2)
        assert run.probed == weights(plain).sum().item()
        assert run.stopped_at <= 20 and run.best_step <= run.stopped_at
        kept = finetune_fixed(network(), x, y, run.best_step, 16, 0.05, seed=2)
        assert torch.equal(weights(net), weights(kept))  # training past the stop did not move the result


def test_the_same_seed_gives_the_same_run_and_another_seed_another():
    x, y = problem()
    rule = Stopping(val_fraction=0.2, patience=2, check_every=5, max_steps=100)

    def run(seed):
        net = network()
        return finetune_early_stopping(net, (x, y), problem(32, seed=9), rule, 16, 0.05, seed, 10,
                                       lambda trained: weights(trained).sum().item()), weights(net)

    (first, w1), (again, w2), (_, w3) = run(3), run(3), run(4)
    assert first == again and torch.equal(w1, w2)
    assert not torch.equal(w1, w3)


def test_validation_split_is_stratified_disjoint_and_seeded():
    labels = torch.tensor([0, 1, 2] * 10)
    indices = torch.arange(30)
    fit, val = validation_split(labels, indices, 0.2, torch.Generator().manual_seed(0))
    assert torch.bincount(labels[val]).tolist() == [2, 2, 2] and torch.bincount(labels[fit]).tolist() == [8, 8, 8]
    assert sorted(torch.cat([fit, val]).tolist()) == list(range(30))
    again = validation_split(labels, indices, 0.2, torch.Generator().manual_seed(0))
    assert torch.equal(val, again[1]) and torch.equal(fit, again[0])
    with pytest.raises(ConfigError, match="leaves none to train on"):
        validation_split(labels, torch.tensor([0, 1, 2]), 0.2, torch.Generator())


def test_the_kept_weights_are_a_copy_that_later_training_does_not_change():
    stopper, net = EarlyStopping(patience=1), nn.Linear(2, 1)
    stopper.check(0, net, (0, 0.0))
    before = copy.deepcopy(net.state_dict())
    with torch.no_grad():
        net.weight.add_(1.0)
    stopper.restore(net)
    assert torch.equal(net.weight, before["weight"])
