"""Suite files (TOML) -> a validated, frozen SuiteConfig. Every check runs before any work.

A suite file has [suite] (name, description, seeds, expected: how long it takes), [train]
(step budget, learning rate, device, and the model family's own settings), [eval] (schedule
and metrics) and one or more [[matrix]] blocks: one list of components per axis
(genbench.api.axes: datasets x models x objectives x optimizers x kernels), and optionally a
`train` table overriding [train] for that block; each block is crossed on its own, so GANs and
autoencoders can share a suite.
Components are given as "name" or {name = "...", label = "...", <params>}; `kernels = "*"`
names every kernel backend usable on this machine, a plugin's included. An optional [search]
samples train and component parameters for N trials per group (genbench.suite.search).

Sizes are checked too, before any work: the number of cells against a cap (counted from the
axes before the plan exists), batch sizes against the data, and what each cell would allocate
(data, model weights, examples a parameter counts) against memory (genbench.suite.sizes).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from . import executor_options, overrides
from . import search as search_module
from . import sizes
from genbench.api.axes import AXES, AXIS_NAMES
from genbench.api.errors import ConfigError, DataError, GenbenchError, UnknownComponentError, close_matches
from genbench.suite.limits import LIMIT_KEYS, MEMORY_HELP, TIMEOUT_HELP, parse_memory, parse_timeout
from genbench.api.registry import Registry
from genbench.api.specs import CONTEXT_DATA, Param
from genbench.suite.file import MAX_DEPTH, parse

MAX_STEPS = 10**9  # a step budget beyond any real run; bounds what a schedule may allocate
MAX_EVAL_POINTS = 10**5  # steps / every: evaluations of one cell
MAX_SEED = 2**32  # seeds are 0 <= seed < 2**32, the range every RNG genbench seeds accepts
MAX_CELLS = 100_000  # cells a suite may plan unless the run raises the cap (--max-cells)
LOG_POINTS = 50  # records of the training statistics per run at the default log_every

# The train settings every family shares; a family adds its own (FamilySpec.params).
TRAIN_PARAMS: dict[str, Param] = {
    "steps": Param(2000, "generator (or model) updates per cell", min=1, max=MAX_STEPS),
    "batch_size": Param(256, "minibatch size m", min=1, max=65536),
    "lr": Param(2e-4, "learning rate of the optimizer", min=0.0, max=1.0),
    "device": Param("auto", "torch device: auto (cuda if present), cpu, cuda, cuda:N"),
    "log_every": Param(-1, f"record the training statistics every N steps (their means over the N), one host "
                       f"sync each; -1: about {LOG_POINTS} records per run (steps // {LOG_POINTS}); 0: only at "
                       f"eval steps", min=-1, max=MAX_STEPS, id_if_default=False),
}
# Train settings that change what is recorded, never what is trained: never part of a cell id, so
# a run with another value keeps (and resumes) the cells it holds.
RECORDING_ONLY = frozenset({"log_every"})
EVAL_PARAMS: dict[str, Param] = {
    "every": Param(500, "evaluate every N steps (the final step is always evaluated)", min=1, max=MAX_STEPS),
    "metrics": Param((), "metric names or {name = ..., <params>} tables"),
}
SUITE_KEYS = {"name", "description", "seeds", "expected"}
TOP_LEVEL = {"suite", "train", "eval", "matrix", "search", *executor_options.TABLES}


@dataclass(frozen=True)
class ComponentConfig:
    """A named component with its parameters resolved against the spec's defaults."""

    kind: str
    name: str
    params: tuple[tuple[str, Any], ...]  # sorted (key, value) pairs, defaults filled in
    label: str
    explicit: tuple[str, ...] = field(default=(), compare=False)  # the keys the suite set
    unhashed: tuple[str, ...] = field(default=(), compare=False)  # at defaults that stay out of the cell id

    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    def id_params(self) -> dict[str, Any]:
        """The parameters that enter the cell id (see Param.id_if_default)."""
        return {k: v for k, v in self.params if k not in self.unhashed}


@dataclass(frozen=True)
class MatrixBlock:
    components: tuple[tuple[ComponentConfig, ...], ...]  # one tuple per axis, in AXES order
    train: tuple[tuple[str, Any], ...] = ()  # this block's [train] overrides

    def axis(self, name: str) -> tuple[ComponentConfig, ...]:
        return self.components[[a.name for a in AXES].index(name)]


@dataclass(frozen=True)
class SuiteConfig:
    path: str
    name: str
    description: str
    seeds: tuple[int, ...]
    train: tuple[tuple[str, Any], ...]  # only the keys the file sets; defaults merge per cell
    eval_every: int
    metrics: tuple[ComponentConfig, ...]
    blocks: tuple[MatrixBlock, ...]
    limits: tuple[tuple[str, float | int], ...] = ()  # [train] timeout (s) / max_memory (bytes) if set
    search: search_module.SearchSpace | None = None  # [search]: sampled trials per group
    # the [executor] table (or [cluster]): options for the executor that runs it (genbench.suite.executor_options)
    executor: tuple[tuple[str, Any], ...] = ()
    executor_table: str = "executor"  # which of the two names the file used
    expected: str = ""  # how long it takes, measured or estimated: "3 min on 2 cores"


def train_params(registry: Registry, family: str) -> dict[str, Param]:
    """The train settings of cells of this family: the core's and the family's own."""
    return {**TRAIN_PARAMS, **registry.get("family", family).params}


def cell_train(registry: Registry, objective: str, suite_train: Mapping, block_train: Mapping) -> dict[str, Any]:
    """Defaults < the objective's published settings < the suite's [train] < the block's train,
    over the train settings of the objective's family (other families' keys are dropped)."""
    ospec = registry.get("objective", objective)
    params = train_params(registry, ospec.family)
    train = {key: param.default for key, param in params.items()}
    for layer in (ospec.train_defaults, suite_train, block_train):
        train.update({k: v for k, v in layer.items() if k in params})
    return train


def builtin_suites() -> dict[str, Path]:
    """Suites shipped inside the package, by name."""
    folder = resources.files("genbench.suite") / "builtin"
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml")}


def resolve_suite_path(name_or_path: str) -> Path:
    """A suite file path, or the built-in suite of that name."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    suites = builtin_suites()
    if name_or_path in suites:
        return suites[name_or_path]
    raise ConfigError(
        f"no suite file {name_or_path!r} and no built-in suite of that name."
        f"{close_matches(name_or_path, suites)} Built-in suites: {', '.join(sorted(suites))}; "
        f"fix: pass the path of a .toml suite file or one of those names."
    )


def load(name_or_path: str, registry: Registry, settings: tuple[str, ...] = (),
         max_cells: int = MAX_CELLS) -> SuiteConfig:
    """Read and validate a suite, with `--set KEY=VALUE` `settings` applied to the file's table
    first (genbench.suite.overrides), planning at most `max_cells` cells; ConfigError naming the
    file (and the --set), the key and the fix."""
    path = resolve_suite_path(name_or_path)
    raw = overrides.apply(parse(path), settings)
    source = f"{path} with --set {' --set '.join(settings)}" if settings else str(path)
    try:
        return _Validator(str(path), registry, source, max_cells).suite(raw)
    except RecursionError:  # parse() bounds the nesting; this is the last line of defence
        raise ConfigError(f"{path}: tables or arrays nested too deeply; fix: nest at most "
                          f"{MAX_DEPTH} levels.") from None


class _Validator:
    """Walks one parsed suite file; every error names the file and the key."""

    def __init__(self, path: str, registry: Registry, source: str | None = None, max_cells: int = MAX_CELLS):
        self.path = path
        self.source = source or path  # what messages name: the file, and any --set applied to it
        self.registry = registry
        self.max_cells = max_cells
        self.infos: dict[ComponentConfig, Any] = {}  # dataset -> its DataInfo, its files checked once
        self.budget = sizes.memory_budget(None)

    def fail(self, where: str, problem: str, fix: str) -> ConfigError:
        return ConfigError(f"{self.source}: {where}: {problem}; fix: {fix}")

    def table(self, raw: Any, where: str) -> dict:
        if not isinstance(raw, dict):
            raise self.fail(where, f"expected a table, got {type(raw).__name__}", f"write [{where}]")
        return raw

    def no_unknown_keys(self, raw: Mapping, allowed, where: str) -> None:
        for key in raw:
            if key not in allowed:
                raise self.fail(
                    f"{where}.{key}" if where else key,
                    f"unknown key {key!r}.{close_matches(key, allowed)}",
                    f"use one of {', '.join(sorted(allowed))}",
                )

    def params(self, raw: Mapping, spec_params: Mapping[str, Param], where: str) -> dict:
        self.no_unknown_keys(raw, spec_params, where)
        resolved = {key: param.default for key, param in spec_params.items()}
        for key, value in raw.items():
            try:
                resolved[key] = spec_params[key].check(value)
            except ValueError as exc:
                raise self.fail(f"{where}.{key}", str(exc), spec_params[key].describe()) from None
        return resolved

    def suite(self, raw: dict) -> SuiteConfig:
        self.no_unknown_keys(raw, TOP_LEVEL, "")
        suite = self.table(raw.get("suite", {}), "suite")
        self.no_unknown_keys(suite, SUITE_KEYS, "suite")
        name = suite.get("name", Path(self.path).stem)
        if not isinstance(name, str) or not name.strip():
            raise self.fail("suite.name", f"expected a non-empty string, got {name!r}", 'name = "my-suite"')
        description = suite.get("description", "")
        if not isinstance(description, str):
            raise self.fail("suite.description", "expected a string", 'description = "..."')
        expected = suite.get("expected", "")
        if not isinstance(expected, str) or "\n" in expected or len(expected) > 60:
            raise self.fail("suite.expected", f"expected one short line (at most 60 characters), got {expected!r}",
                            'expected = "3 min on 2 cores" (or "about 20 min on 2 cores, estimated")')
        seeds = self.seeds(suite.get("seeds", [0]))

        eval_raw = self.table(raw.get("eval", {}), "eval")
        self.no_unknown_keys(eval_raw, EVAL_PARAMS, "eval")
        every = eval_raw.get("every", EVAL_PARAMS["every"].default)
        try:
            every = EVAL_PARAMS["every"].check(every)
        except ValueError as exc:
            raise self.fail("eval.every", str(exc), EVAL_PARAMS["every"].describe()) from None
        metrics = self.components(eval_raw.get("metrics", []), "metric", "eval.metrics")

        if "matrix" not in raw or raw["matrix"] == []:
            raise self.fail("matrix", "the suite has no [matrix]", 'add [matrix] with datasets, models, objectives')
        train_raw = dict(self.table(raw.get("train", {}), "train"))
        limits = self.limits(train_raw)
        self.budget = sizes.memory_budget(dict(limits).get("max_memory"))
        blocks_raw = raw["matrix"] if isinstance(raw["matrix"], list) else [raw["matrix"]]
        wheres = [f"matrix[{i}]" if len(blocks_raw) > 1 else "matrix" for i in range(len(blocks_raw))]
        axes = [self.block_axes(b, where) for b, where in zip(blocks_raw, wheres, strict=True)]
        self.cell_count([block for block, _ in axes], seeds, raw.get("search"))
        blocks = tuple(self.block(block, train, where) for (block, train), where in zip(axes, wheres, strict=True))
        families = {self.registry.get("model", m.name).family for b in blocks for m in b.axis("model")}
        train = self.params(train_raw, self.train_params(families), "train")
        explicit_train = tuple(sorted((k, train[k]) for k in train_raw))
        self.device(train["device"])
        self.labels_agree(blocks)
        self.eval_points(every, dict(train_raw), blocks)
        self.family_settings(blocks, dict(explicit_train))
        self.metrics_apply(metrics, blocks)
        self.metrics_distinct(metrics, blocks)
        search = None if "search" not in raw else self.search(raw["search"], blocks, dict(explicit_train), families)
        self.sizes(blocks, metrics, dict(explicit_train), search)
        table, executor = executor_options.suite_table(raw, self.registry, self.source)
        return SuiteConfig(self.path, name, description, seeds, explicit_train, every, metrics, blocks, limits,
                           search, executor, table, expected)

    def search(self, raw: Any, blocks: tuple[MatrixBlock, ...], suite_train: dict,
               families) -> search_module.SearchSpace:
        """[search]: every parameter it names exists in the suite and every value it can draw is
        valid; each trial's model still fits its dataset."""
        known: dict[str, dict[str, list[Param]]] = {"train": {k: [p] for k, p in self.train_params(families).items()}}
        for section in search_module.SECTIONS[1:]:
            for block in blocks:
                for component in block.axis(section):
                    for key, param in self.registry.get(section, component.name).params.items():
                        known.setdefault(section, {}).setdefault(key, []).append(param)
        for block in blocks:  # each network's own optimizer settings: optimizer.generator.lr
            roles = {r for m in block.axis("model") for r in
                     self.registry.get("family", self.registry.get("model", m.name).family).optimizer_roles}
            for optimizer in block.axis("optimizer"):
                params = {"lr": TRAIN_PARAMS["lr"], **self.registry.get("optimizer", optimizer.name).params}
                for role in sorted(roles):
                    for key, param in params.items():
                        known.setdefault("optimizer", {}).setdefault(f"{role}.{key}", []).append(param)
        space = search_module.parse(raw, self.path, known)
        if not any(key.startswith("model.") for key, _ in space.params):
            return space
        for block in blocks:
            for combination in itertools.product(*block.components):
                components = dict(zip(AXIS_NAMES, combination, strict=True))
                train = cell_train(self.registry, components["objective"].name, suite_train, dict(block.train))
                for trial, sampled in enumerate(search_module.draws(space, components, train, self.registry)):
                    model = search_module.apply(sampled, components, train)[0]["model"]
                    dataset = components["dataset"]
                    problem = self.model_problem(model, self.data_info(dataset, "matrix"))
                    if problem:
                        raise self.fail("search", f"trial {trial} of {'/'.join(c.label for c in combination)} "
                                        f"draws model {model.name} {dict(sampled)}, which cannot fit dataset "
                                        f"{dataset.label!r}: {problem}", "narrow the model parameters' ranges")
        return space

    def limits(self, train_raw: dict) -> tuple[tuple[str, float | int], ...]:
        """Pops and parses [train] timeout / max_memory: limits of the run, not cell settings."""
        limits = []
        for key, parse_limit, expected in (("timeout", parse_timeout, TIMEOUT_HELP),
                                           ("max_memory", parse_memory, MEMORY_HELP)):
            if key in train_raw:
                try:
                    limits.append((key, parse_limit(train_raw.pop(key))))
                except ValueError as exc:
                    raise self.fail(f"train.{key}", str(exc), f"give {expected}") from None
        return tuple(limits)

    def labels_agree(self, blocks: tuple[MatrixBlock, ...]) -> None:
        """One label means one configuration of an axis across blocks: reports group by labels."""
        where = [f"matrix[{i}]" if len(blocks) > 1 else "matrix" for i in range(len(blocks))]
        for axis in AXES:
            seen: dict[str, tuple[int, ComponentConfig]] = {}
            for i, block in enumerate(blocks):
                for component in block.axis(axis.name):
                    first = seen.setdefault(component.label, (i, component))
                    if (first[1].name, first[1].params) != (component.name, component.params):
                        raise self.fail(
                            f"{where[first[0]]}.{axis.key} and {where[i]}.{axis.key}",
                            f"the label {component.label!r} names two different {axis.name} configurations "
                            f"({first[1].name} {dict(first[1].params)} and {component.name} {dict(component.params)}); "
                            "reports would average them together",
                            'give each configuration its own label = "..."')

    def eval_points(self, every: int, suite_train: dict, blocks: tuple[MatrixBlock, ...]) -> None:
        """Each cell's eval schedule stays small: steps / every <= MAX_EVAL_POINTS."""
        for i, block in enumerate(blocks):
            for objective in block.axis("objective"):
                steps = cell_train(self.registry, objective.name, suite_train, dict(block.train))["steps"]
                if type(steps) is int and steps // every > MAX_EVAL_POINTS:
                    where = f"matrix[{i}]" if len(blocks) > 1 else "matrix"
                    raise self.fail("eval.every", f"steps = {steps:,} with every = {every:,} is {steps // every:,} "
                                    f"evaluations per cell ({where}, objective {objective.label!r}), more than "
                                    f"{MAX_EVAL_POINTS:,}", f"raise every to at least {-(-steps // MAX_EVAL_POINTS):,}")

    def family_settings(self, blocks: tuple[MatrixBlock, ...], suite_train: dict) -> None:
        """Each cell's resolved train settings suit its family and data (FamilySpec.fits)."""
        for i, block in enumerate(blocks):
            where = f"matrix[{i}]" if len(blocks) > 1 else "matrix"
            for objective in block.axis("objective"):
                family = self.registry.get("family", self.registry.get("objective", objective.name).family)
                if family.fits is None:
                    continue
                train = cell_train(self.registry, objective.name, suite_train, dict(block.train))
                for dataset in block.axis("dataset"):
                    problem = family.fits(self.data_info(dataset, where), train)
                    if problem:
                        raise self.fail(f"train ({where}, objective {objective.label!r})",
                                        f"the {family.name} family cannot train on dataset {dataset.label!r} with "
                                        f"these settings: {problem}", "change those [train] settings, or give the "
                                        "dataset its own [[matrix]] block with its own train table")

    def metrics_distinct(self, metrics: tuple[ComponentConfig, ...], blocks: tuple[MatrixBlock, ...]) -> None:
        """No two metrics scoring one cell write values of the same name (results are keyed by
        cell, step and value name)."""
        cells = [(m, d) for b in blocks for m in b.axis("model") for d in b.axis("dataset")]
        for j, second in enumerate(metrics):
            for i, first in enumerate(metrics[:j]):
                if first.name == second.name and not self.registry.get("metric", first.name).repeatable:
                    raise self.fail("eval.metrics", f"metric {first.name!r} is listed twice (eval.metrics[{i}] "
                                    f"{first.label!r} and eval.metrics[{j}] {second.label!r}); their values would "
                                    "overwrite each other", "keep one entry per metric (compare parameters in "
                                    "separate suites)")
                if first.name == second.name:
                    continue  # a repeatable metric: its values' names differ by parameters
                shared = set(self.registry.get("metric", first.name).outputs) & set(
                    self.registry.get("metric", second.name).outputs)
                if shared and any(metric_applies(self.registry, first, m, d) and
                                  metric_applies(self.registry, second, m, d) for m, d in cells):
                    raise self.fail("eval.metrics", f"metrics {first.label!r} and {second.label!r} both report "
                                    f"{', '.join(sorted(shared))}; their values would overwrite each other",
                                    "keep one of them per suite")

    def train_params(self, families) -> dict[str, Param]:
        """The [train] keys cells of these families accept."""
        merged = dict(TRAIN_PARAMS)
        for family in sorted(families):
            merged.update(train_params(self.registry, family))
        return merged

    def device(self, device: str) -> None:
        if device in ("auto", "cpu"):
            return
        if not (device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit())):
            raise self.fail("train.device", f"{device!r} is not a device", 'use "auto", "cpu", "cuda" or "cuda:N"')
        import torch

        if not torch.cuda.is_available():
            raise self.fail("train.device", f"{device!r} was asked for but this machine has no CUDA device",
                            'use device = "auto" or "cpu"')

    def seeds(self, raw: Any) -> tuple[int, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.fail("suite.seeds", f"expected a non-empty list of integers, got {raw!r}", "seeds = [0, 1, 2]")
        for seed in raw:
            if type(seed) is not int or seed < 0:
                raise self.fail("suite.seeds", f"seed {seed!r} is not a non-negative integer", "seeds = [0, 1, 2]")
            if seed >= MAX_SEED:
                raise self.fail("suite.seeds", f"seed {seed} is not below 2**32 (the range torch.manual_seed "
                                "and numpy accept)", f"use seeds 0 <= seed < {MAX_SEED}")
        if len(set(raw)) != len(raw):
            raise self.fail("suite.seeds", f"seeds {raw!r} repeat", "list each seed once")
        return tuple(raw)

    def components(self, raw: Any, kind: str, where: str) -> tuple[ComponentConfig, ...]:
        if isinstance(raw, (str, dict)):
            raw = [raw]
        if not isinstance(raw, list):
            raise self.fail(where, f"expected a list of {kind} names or tables", f'{where.split(".")[-1]} = ["name"]')
        parsed = tuple(self.component(entry, kind, f"{where}[{i}]") for i, entry in enumerate(raw))
        labels = [c.label for c in parsed]
        for label in labels:
            if labels.count(label) > 1:
                raise self.fail(where, f"two entries share the label {label!r}", "give each a distinct label = \"...\"")
        return parsed

    def component(self, raw: Any, kind: str, where: str) -> ComponentConfig:
        if isinstance(raw, str):
            raw = {"name": raw}
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise self.fail(where, f"expected a {kind} name or a table with name = \"...\", got {raw!r}",
                            f'write "{kind}-name" or {{ name = "{kind}-name", <params> }}')
        raw = dict(raw)
        written = raw.pop("name")  # plain or qualified (distribution:name); labels keep it as written
        label = raw.pop("label", None)
        try:
            name = self.registry.canonical(kind, written)
            spec = self.registry.get(kind, name)
        except UnknownComponentError as exc:
            raise self.fail(where, str(exc), f"run `genbench list` to see every {kind}") from None
        except GenbenchError as exc:  # an ambiguous name or a refused plugin: the message says the fix
            raise ConfigError(f"{self.source}: {where}: {exc}") from None
        if kind == "optimizer":  # a role table gives one network its own settings
            self.no_unknown_keys(raw, {*spec.params, *self.optimizer_roles()}, f"{where} ({written})")
            roles = {role: raw.pop(role) for role in self.optimizer_roles() if role in raw}
        params = self.params(raw, spec.params, f"{where} ({written})")
        if kind == "optimizer":
            params.update(self.role_settings(roles, spec.params, f"{where} ({written})"))
        if kind == "kernel":
            reason = spec.available()
            if reason is not None:
                raise self.fail(where, f"kernel backend {name!r} is not usable here: {reason}",
                                "pick a backend `genbench list --kind kernel` shows as available")
        if label is None:  # (a role's setting, "generator.lr", is never a default)
            changed = [f"{k}={v}" for k, v in params.items() if k not in spec.params or v != spec.params[k].default]
            label = f"{written}({','.join(changed)})" if changed else written
        elif not isinstance(label, str) or not label:
            raise self.fail(f"{where}.label", "expected a non-empty string", 'label = "short-name"')
        unhashed = tuple(sorted(k for k, v in params.items() if k in spec.params
                                and not spec.params[k].id_if_default and v == spec.params[k].default))
        return ComponentConfig(kind, name, tuple(sorted(params.items())), label, tuple(sorted(raw)), unhashed)

    def optimizer_roles(self) -> list[str]:
        """Every role a registered family optimises apart (FamilySpec.optimizer_roles)."""
        families = self.registry.names("family")
        return sorted({role for f in families for role in self.registry.get("family", f).optimizer_roles})

    def role_settings(self, roles: Mapping[str, Any], spec_params: Mapping[str, Param], where: str) -> dict:
        """An optimizer entry's role tables, e.g. generator = { lr = 1e-4 }, as "generator.lr"
        parameters: each key the shared learning rate or one of the optimizer's parameters."""
        settings = {}
        for role, table in roles.items():
            if not isinstance(table, dict) or not table:
                raise self.fail(f"{where}.{role}", f"expected a table of the {role}'s own settings, got {table!r}",
                                f"{role} = {{ lr = 1e-4 }}")
            checked = self.params(table, {"lr": TRAIN_PARAMS["lr"], **spec_params}, f"{where}.{role}")
            settings.update({f"{role}.{key}": checked[key] for key in table})
        return settings

    def block_axes(self, raw: Any, where: str) -> tuple[MatrixBlock, Any]:
        """A [[matrix]] block's components, parsed, and its raw train table."""
        raw = dict(self.table(raw, where))
        self.no_unknown_keys(raw, {*(axis.key for axis in AXES), "train"}, where)
        components = []
        for axis in AXES:
            if axis.key not in raw and axis.optional:  # the kind's default component
                components.append((self.component(self.registry.default(axis.name), axis.name, f"{where}.{axis.key}"),))
                continue
            if axis.key not in raw or raw[axis.key] in ([], ""):
                raise self.fail(f"{where}.{axis.key}", f"no {axis.key} given",
                                f'{axis.key} = ["name"]; `genbench list` shows them')
            value = raw[axis.key]
            if axis.name == "kernel" and value in ("*", ["*"]):  # every backend usable here (and not refused)
                kernels = {n: self.registry.origin("kernel", n) for n in self.registry.names("kernel")}
                value = [n for n, k in kernels.items() if k.problem is None and k.spec.available() is None]
                if not value:
                    raise self.fail(f"{where}.{axis.key}", "no kernel backend is usable on this machine",
                                    "name backends `genbench list --kind kernel` shows as available")
            components.append(self.components(value, axis.name, f"{where}.{axis.key}"))
        return MatrixBlock(tuple(components)), raw.pop("train", {})

    def cell_count(self, blocks: list[MatrixBlock], seeds: tuple[int, ...], search: Any) -> None:
        """The cells the suite plans (axes x seeds x trials, counted before any is made) are at
        most max_cells."""
        trials = search.get("trials", 1) if isinstance(search, dict) else 1
        trials = trials if type(trials) is int and 1 <= trials <= search_module.MAX_TRIALS else 1
        sizes_ = [[len(axis) for axis in block.components] for block in blocks]
        count = sum(math.prod(axes) for axes in sizes_) * len(seeds) * trials
        if count > self.max_cells:
            product = " + ".join(" x ".join(map(str, axes)) for axes in sizes_)
            trial_text = f" x {trials} trials" if trials > 1 else ""
            raise self.fail("matrix", f"the suite plans {count:,} cells (({product}) axis combinations x "
                            f"{len(seeds)} seeds{trial_text}), more than the cap of {self.max_cells:,}",
                            f"narrow the matrix, the seeds or the trials, split the suite, or raise the cap "
                            f"with --max-cells {count}")

    def block(self, block: MatrixBlock, train: Any, where: str) -> MatrixBlock:
        """The block checked (its components fit together) with its train table validated."""
        families = self.check_combinations(block, where)
        block_train = self.table(train, f"{where}.train")
        for key in LIMIT_KEYS:
            if key in block_train:
                raise self.fail(f"{where}.train.{key}", f"{key} is a limit of the whole run, not of one block",
                                f"set {key} in the suite's [train] table (or pass --{key.replace('_', '-')})")
        checked = self.params(block_train, self.train_params(families), f"{where}.train")
        return MatrixBlock(block.components, tuple(sorted((k, checked[k]) for k in block_train)))

    def data_info(self, dataset: ComponentConfig, where: str):
        """The dataset's DataInfo; the first time, its sizes are checked (data_fits) and then its
        files (DatasetSpec.check). A DataError (e.g. a missing file) gains the file and key."""
        if dataset not in self.infos:
            spec, at = self.registry.get("dataset", dataset.name), f"{where}.datasets ({dataset.label})"
            try:
                info = spec.data_info(dataset.kwargs())
                self.data_fits(info, at)
                if spec.check is not None:
                    spec.check(**dataset.kwargs())
            except DataError as exc:
                raise DataError(f"{self.path}: {at}: {exc}") from None
            self.infos[dataset] = info
        return self.infos[dataset]

    def check_combinations(self, block: MatrixBlock, where: str) -> set[str]:
        """Every model/objective/dataset of the block fits together; returns their families."""
        get, families = self.registry.get, set()
        for model in block.axis("model"):
            mspec = get("model", model.name)
            if mspec.family not in self.registry.tables["family"]:
                known = ", ".join(self.registry.names("family")) or "none"
                raise self.fail(f"{where}.models", f"model {model.label!r} belongs to family {mspec.family!r}, "
                                f"which no plugin registered (registered families: {known})",
                                "install the plugin that provides that family")
            families.add(mspec.family)
            for objective in block.axis("objective"):
                ospec = get("objective", objective.name)
                if ospec.family != mspec.family:
                    raise self.fail(
                        where, f"objective {objective.label!r} (family {ospec.family}) cannot train model "
                        f"{model.label!r} (family {mspec.family})",
                        "put them in separate [[matrix]] blocks, or pick a matching objective")
            for dataset in block.axis("dataset"):
                info = self.data_info(dataset, where)
                if info.domain not in self.registry.tables["domain"]:
                    raise self.fail(where, f"dataset {dataset.label!r} is {info.domain!r} data, a domain no plugin "
                                    f"registered", "install the plugin that provides that domain")
                if mspec.domains and info.domain not in mspec.domains:
                    raise self.fail(where, f"model {model.label!r} takes {'/'.join(mspec.domains)} data but "
                                    f"dataset {dataset.label!r} is {info.domain} data",
                                    "pair it with a matching dataset, or use separate [[matrix]] blocks")
                problem = self.model_problem(model, info)
                if problem:
                    raise self.fail(where, f"model {model.label!r} cannot fit dataset {dataset.label!r}: {problem}",
                                    "change the model's parameters or the dataset")
        for objective in block.axis("objective"):
            self.objective_defaults(objective, block)
            self.objective_contract(objective, where)
        for optimizer in block.axis("optimizer"):
            for role in sorted({key.split(".")[0] for key in optimizer.kwargs() if "." in key}):
                for family in sorted(families):
                    if role not in get("family", family).optimizer_roles:
                        raise self.fail(f"{where}.optimizers", f"optimizer {optimizer.label!r} gives the {role} its "
                                        f"own settings, but family {family!r} optimises no {role} (its roles: "
                                        f"{', '.join(get('family', family).optimizer_roles) or 'none'})",
                                        f"remove {role} = {{ ... }}, or put the entry in the block of a family "
                                        "that has that network")
        return families

    def objective_contract(self, objective: ComponentConfig, where: str) -> None:
        """The objective its factory builds has the methods its family's trainer calls (deprecated
        forms are adapted, with a warning): a mismatched plugin fails here, not in every cell."""
        try:
            self.registry.build_objective(objective.name, objective.kwargs())
        except GenbenchError as exc:
            raise ConfigError(f"{self.source}: {where}.objectives ({objective.label}): {exc}") from None
        except Exception as exc:  # the factory itself raised: every cell would fail the same way
            raise self.fail(f"{where}.objectives ({objective.label})",
                            f"building objective {objective.name!r} raised {type(exc).__name__}: {exc}",
                            "change its parameters, or repair its plugin") from None

    def model_problem(self, model: ComponentConfig, info) -> str | None:
        """Why the model cannot fit data of this DataInfo (its spec's fits), or cannot be trained
        in memory (its weights), or None."""
        spec = self.registry.get("model", model.name)
        problem = spec.fits(info, **model.kwargs()) if spec.fits else None
        if problem is None and spec.weights is not None:
            weights = spec.weights(info, **model.kwargs())
            set_ = ", ".join(f"{k} = {v}" for k, v in model.params if k in model.explicit) or "its defaults"
            problem = sizes.too_big(f"training its {weights:,} weights ({set_})", sizes.training_bytes(weights),
                                    self.budget)
        return problem

    def sizes(self, blocks: tuple[MatrixBlock, ...], metrics: tuple[ComponentConfig, ...], suite_train: dict,
              search: search_module.SearchSpace | None) -> None:
        """Each cell's data fits in memory and holds a batch, and the examples its parameters count
        (Param.examples) fit in memory (genbench.suite.sizes)."""
        searched = dict(search.params).get("train.batch_size") if search is not None else None
        for i, block in enumerate(blocks):
            where = f"matrix[{i}]" if len(blocks) > 1 else "matrix"
            for dataset in block.axis("dataset"):
                info = self.data_info(dataset, where)
                for objective in block.axis("objective"):
                    batch = cell_train(self.registry, objective.name, suite_train, dict(block.train))["batch_size"]
                    batch = max(batch, *searched.values) if searched is not None else batch
                    if info.n_train is not None and batch > info.n_train:
                        raise self.fail(f"{where}.datasets ({dataset.label})", f"batch_size = {batch:,} (cells with "
                                        f"objective {objective.label!r}) is more than the dataset's "
                                        f"{info.n_train:,} training examples",
                                        f"set train.batch_size <= {info.n_train:,}, or use more training examples")
                applying = [m for m in metrics if any(metric_applies(self.registry, m, model, dataset)
                                                      for model in block.axis("model"))]
                named = [(f"{where}.{axis.key}", c) for axis, axis_components in zip(AXES, block.components,
                                                                                      strict=True)
                         for c in axis_components] + [("eval.metrics", m) for m in applying]
                for at, component in named:
                    self.examples_fit(component, info, f"{at} ({component.label})", dataset)

    def data_fits(self, info, where: str) -> None:
        """The dataset's classes are class indices and its splits fit in memory."""
        if info.n_classes is not None and info.n_classes > sizes.MAX_CLASSES:
            raise self.fail(where, f"the dataset has {info.n_classes:,} classes (labels up to "
                            f"{info.n_classes - 1:,}), more than the {sizes.MAX_CLASSES:,} genbench takes",
                            "store labels as class indices 0..K-1")
        problem = sizes.too_big(f"loading {info.n_train or 0:,} + {info.n_test or 0:,} examples of shape "
                                f"{info.shape}", sizes.data_bytes(info), self.budget)
        if problem:
            raise self.fail(where, problem, "use fewer examples (n_train, n_test), or set [train] max_memory to "
                            "the memory of the machines that run the cells")

    def examples_fit(self, component: ComponentConfig, info, where: str, dataset: ComponentConfig) -> None:
        """Every parameter of `component` that counts examples (Param.examples) asks for no more
        than memory holds, at the size of one example of `dataset`."""
        spec = self.registry.get(component.kind, component.name)
        for key, value in component.params:  # (an optimizer's role keys, generator.lr, count nothing)
            if key in spec.params and spec.params[key].examples and type(value) is int:
                problem = sizes.too_big(f"{value:,} examples of dataset {dataset.label!r} (shape {info.shape})",
                                        value * sizes.example_bytes(info), self.budget)
                if problem:
                    raise self.fail(f"{where}.{key}", problem, f"lower {key}")

    def objective_defaults(self, objective: ComponentConfig, block: MatrixBlock) -> None:
        """An objective's train_defaults name train settings of its family or optimizer
        parameters, with valid values (a plugin's mistake, caught before any work)."""
        ospec = self.registry.get("objective", objective.name)
        where = f"objective {objective.name} train_defaults"
        train = train_params(self.registry, ospec.family)
        optimizers = [self.registry.get("optimizer", o.name).params for o in block.axis("optimizer")]
        for key, value in dict(ospec.train_defaults).items():
            checks = [p[key] for p in (train, *optimizers) if key in p]
            known = {k for p in (train, *self.all_optimizer_params()) for k in p}
            if key not in known:
                raise self.fail(where, f"unknown key {key!r}.{close_matches(key, known)}",
                                "fix the objective's plugin: use train settings or optimizer parameters")
            for param in checks:
                try:
                    param.check(value)
                except ValueError as exc:
                    raise self.fail(f"{where}.{key}", str(exc), param.describe()) from None

    def all_optimizer_params(self) -> list[Mapping[str, Param]]:
        return [self.registry.get("optimizer", name).params for name in self.registry.names("optimizer")]

    def metrics_apply(self, metrics: tuple[ComponentConfig, ...], blocks: tuple[MatrixBlock, ...]) -> None:
        """Every metric applies to some cell, and can score the data of each cell it applies to."""
        for metric in metrics:
            spec = self.registry.get("metric", metric.name)
            pairs = [(m, d) for b in blocks for m in b.axis("model") for d in b.axis("dataset")
                     if metric_applies(self.registry, metric, m, d)]
            if not pairs:
                families = sorted({self.registry.get("model", m.name).family for b in blocks for m in b.axis("model")})
                provided = "; ".join(f"{f}: {', '.join(self.registry.get('family', f).provides)}" for f in families)
                raise self.fail("eval.metrics", f"metric {metric.label!r} applies to no cell (it {metric_scope(spec)}; "
                                f"the suite's families provide {provided})",
                                "remove it or add a dataset/model it applies to")
            for dataset in dict.fromkeys(d for _, d in pairs):
                problem = spec.fits(self.data_info(dataset, "matrix"), **metric.kwargs()) if spec.fits else None
                if problem:
                    raise self.fail("eval.metrics", f"metric {metric.label!r} cannot score dataset "
                                    f"{dataset.label!r}: {problem}", "change the metric's parameters or remove it")


def metric_applies(registry: Registry, metric: ComponentConfig, model: ComponentConfig,
                   dataset: ComponentConfig) -> bool:
    """Whether a metric can score cells of this model on this dataset: the model's family provides
    what the metric needs from an eval context, and the dataset's domain is one it scores."""
    spec = registry.get("metric", metric.name)
    family = registry.get("family", registry.get("model", model.name).family)
    domain = registry.get("dataset", dataset.name).data_info(dataset.kwargs()).domain
    return (set(spec.needs) <= {*CONTEXT_DATA, *family.provides} and (not spec.domains or domain in spec.domains)
            and (not spec.families or family.name in spec.families))  # families: deprecated (plugin API 2.1)


def metric_scope(spec) -> str:
    """What a metric needs and scores, e.g. "needs samples, real on image data"."""
    only = f" of {'/'.join(spec.families)} models" if spec.families else ""
    return f"needs {', '.join(spec.needs) or 'nothing'}{only} on {'/'.join(spec.domains) or 'any'} data"
