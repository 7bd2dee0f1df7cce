"""Equal-budget hyperparameter search: a suite's [search] table -> N sampled trials per group.

    [search]
    trials = 8                                      # per group (one label per axis)
    seed = 0                                        # optional; the draws' seed
    train.lr = { log_uniform = [1e-5, 1e-2] }
    optimizer.beta1 = { uniform = [0.0, 0.9] }
    optimizer.discriminator.lr = { log_uniform = [1e-4, 1e-3] }   # one network's own setting
    objective.k = { choice = [1, 2, 5] }

A key is `train.<setting>` or `<axis>.<parameter>` (model, objective, optimizer), or
`optimizer.<role>.<setting>` for one network's own optimizer setting (the lr or an optimizer
parameter of a role its family declares: a GAN's generator, discriminator); a parameter
applies to the groups whose component has it (objective.gp only to wgan-gp). Each group's trials
are drawn from a numpy Generator seeded with [search] seed and a hash of the group's labels:
trial i draws its values in the file's order, so trial i of a group is the same whatever
`trials` is, and raising `trials` keeps the cells already run. A trial is an ordinary cell: its
sampled values are part of its resolved configuration (hence its id), and its `trial` label
joins the axis labels in paths and stores. Integer parameters draw uniform / log-uniform values
rounded to the nearest integer (each integer of a uniform range equally likely).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from genbench.api.errors import ConfigError, close_matches
from genbench.api.specs import Param

DISTRIBUTIONS = ("log_uniform", "uniform", "choice")
SECTIONS = ("train", "model", "objective", "optimizer")  # where searched parameters live
MAX_TRIALS = 1000
NOT_SEARCHED = {  # train settings a search may not vary, and why
    "steps": "the step budget is what an equal-budget search keeps equal; set it in [train]",
    "device": "the device does not change what is learnt; set it in [train]",
}
TRIAL_AXIS = "trial"  # the label a trial cell adds to its axis labels


@dataclass(frozen=True)
class Distribution:
    """Where one parameter's trial values come from."""

    kind: str  # one of DISTRIBUTIONS
    values: tuple  # (low, high), or the choices
    integer: bool = False  # an int parameter: uniform / log-uniform draws are rounded

    def sample(self, rng: np.random.Generator) -> Any:
        if self.kind == "choice":
            return self.values[int(rng.integers(len(self.values)))]
        low, high = self.values
        # integers: draw over [low - 1/2, high + 1/2] and round, so the bounds are as likely as
        # their neighbours (low >= 1 on a log scale, so low - 1/2 stays positive)
        wide = (low - 0.5, high + 0.5) if self.integer else (low, high)
        if self.kind == "log_uniform":
            value = math.exp(rng.uniform(math.log(wide[0]), math.log(wide[1])))
        else:
            value = rng.uniform(*wide)
        if self.integer:
            return min(max(int(round(value)), low), high)
        return min(max(float(value), low), high)  # exp(log(x)) may step past a bound by an ulp


@dataclass(frozen=True)
class SearchSpace:
    """A validated [search] table."""

    trials: int
    seed: int
    params: tuple[tuple[str, Distribution], ...]  # ("train.lr", ...) in the file's order

    def draw(self, group: Sequence[str], applies) -> list[dict[str, Any]]:
        """Each trial's values for the group with these axis labels: {"train.lr": 3e-4, ...};
        `applies(key)` says whether the group has that parameter."""
        digest = hashlib.sha256("\0".join(group).encode()).digest()
        words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]
        rng = np.random.default_rng([self.seed, *words])
        keys = [(key, dist) for key, dist in self.params if applies(key)]
        return [{key: dist.sample(rng) for key, dist in keys} for _ in range(self.trials)]


def trial_label(trial: int) -> str:
    return f"{TRIAL_AXIS}{trial:02d}"


def parse(raw: Any, path: str, known: Mapping[str, Mapping[str, Sequence[Param]]]) -> SearchSpace:
    """Validate a [search] table. `known` maps each section to its parameters: name -> the Param
    of every component of the suite that has it (a sampled value must suit each). ConfigError
    naming the key and the fix otherwise."""

    def fail(where: str, problem: str, fix: str) -> ConfigError:
        return ConfigError(f"{path}: search{'.' + where if where else ''}: {problem}; fix: {fix}")

    if not isinstance(raw, dict):
        raise fail("", f"expected a table, got {type(raw).__name__}", "write [search] with trials = N")
    raw = dict(raw)
    trials = raw.pop("trials", None)
    if type(trials) is not int or not 1 <= trials <= MAX_TRIALS:
        raise fail("trials", f"expected an integer from 1 to {MAX_TRIALS}, got {trials!r}", "trials = 8")
    seed = raw.pop("seed", 0)
    if type(seed) is not int or not 0 <= seed < 2**32:
        raise fail("seed", f"expected an integer 0 <= seed < 2**32, got {seed!r}", "seed = 0")
    params = []
    for section, table in raw.items():
        if section not in SECTIONS:
            raise fail(section, f"unknown key {section!r}.{close_matches(section, SECTIONS)}",
                       f"use trials, seed, or <section>.<parameter> with section one of {', '.join(SECTIONS)}")
        if not isinstance(table, dict) or not table:
            raise fail(section, f"expected parameters, e.g. {section}.name = {{ uniform = [0, 1] }}",
                       f"write {section}.<parameter> = {{ <distribution> = ... }}")
        for name, spec in _nested(table, known.get(section, {})):
            where = f"{section}.{name}"
            if section == "train" and name in NOT_SEARCHED:
                raise fail(where, f"{name!r} cannot be searched: {NOT_SEARCHED[name]}", f"remove search.{where}")
            if name not in known.get(section, {}):
                names = known.get(section, {})
                raise fail(where, f"no {section} of this suite has a parameter {name!r}.{close_matches(name, names)}",
                           f"use one of {', '.join(sorted(names)) or 'none'}")
            params.append((where, _distribution(spec, known[section][name], where, fail)))
    if not params:
        raise fail("", "no parameter to search", "add e.g. train.lr = { log_uniform = [1e-5, 1e-2] }")
    return SearchSpace(trials, seed, tuple(params))


def _nested(table: Mapping[str, Any], known: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(name, spec) pairs of a section's table, a role's table read as dotted names:
    optimizer.generator.lr = {...} parses as {"generator": {"lr": {...}}} -> ("generator.lr", {...})."""
    pairs = []
    for name, spec in table.items():
        if isinstance(spec, dict) and any(key.startswith(f"{name}.") for key in known):  # a role's table
            pairs += [(f"{name}.{inner}", value) for inner, value in spec.items()]
        else:
            pairs.append((name, spec))
    return pairs


def _distribution(spec: Any, checks: Sequence[Param], where: str, fail) -> Distribution:
    """One parameter's { log_uniform | uniform = [low, high] } or { choice = [...] }, every
    value it can take checked against each Param of that name."""
    example = "{ log_uniform = [1e-5, 1e-2] }, { uniform = [0.0, 0.9] } or { choice = [1, 2, 5] }"
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
        raise fail(where, f"expected a table with one of {', '.join(DISTRIBUTIONS)}, got {spec!r}", f"write {example}")
    kind, values = next(iter(spec.items()))
    if not isinstance(values, list) or not values:
        raise fail(f"{where}.{kind}", f"expected a non-empty list, got {values!r}", f"write {example}")

    def check(value: Any) -> Any:
        try:
            checked = [param.check(value) for param in checks]
        except (ValueError, OverflowError) as exc:  # (an int too large for a float)
            raise fail(f"{where}.{kind}", f"{value!r}: {exc}", checks[0].describe()) from None
        return checked[0]

    if kind == "choice":
        return Distribution(kind, tuple(check(v) for v in values))
    numeric = all(type(v) in (int, float) for v in values)
    if len(values) != 2 or not numeric or not values[0] < values[1]:
        raise fail(f"{where}.{kind}", f"expected [low, high] numbers with low < high, got {values!r}",
                   "e.g. [1e-5, 1e-2]")
    if kind == "log_uniform" and values[0] <= 0:
        raise fail(f"{where}.{kind}", f"a log-uniform range must be positive, got {values!r}",
                   "raise low above 0, or use uniform")
    integer = any(param.type is int for param in checks)
    if integer and not all(type(v) is int for v in values):
        raise fail(f"{where}.{kind}", f"an integer parameter needs integer bounds, got {values!r}", "e.g. [1, 8]")
    if not integer and any(param.type is not float for param in checks):
        raise fail(f"{where}.{kind}", f"a {checks[0].type.__name__} parameter takes no range", "use choice = [...]")
    low, high = (check(v) for v in values)
    return Distribution(kind, (low, high), integer)


def draws(space: SearchSpace, components: Mapping[str, Any], train: Mapping[str, Any], registry) -> list[dict]:
    """The trials of the group with these components (axis name -> ComponentConfig) and train
    settings (its family's, resolved): the parameters it has, sampled."""

    def applies(key: str) -> bool:
        section, name = key.split(".", 1)
        if section == "train":
            return name in train
        params = registry.get(section, components[section].name).params
        if section == "optimizer" and "." in name:  # a role's own setting, e.g. generator.lr
            role, setting = name.split(".", 1)
            family = registry.get("family", registry.get("model", components["model"].name).family)
            return role in family.optimizer_roles and (setting == "lr" or setting in params)
        return name in params

    return space.draw([c.label for c in components.values()], applies)


def apply(sampled: Mapping[str, Any], components: Mapping[str, Any], train: Mapping[str, Any]):
    """(components, train) with a trial's sampled values in place; a sampled component
    parameter counts as set by the suite (an objective's published defaults do not replace it)."""
    components, train = dict(components), dict(train)
    for key, value in sampled.items():
        section, name = key.split(".", 1)
        if section == "train":
            train[name] = value
            continue
        component = components[section]
        params = {**component.kwargs(), name: value}
        components[section] = replace(component, params=tuple(sorted(params.items())),
                                      explicit=tuple(sorted({*component.explicit, name})),
                                      unhashed=tuple(k for k in component.unhashed if k != name))  # drawn: in the id
    return components, train
