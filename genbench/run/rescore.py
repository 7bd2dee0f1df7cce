"""`genbench rescore`: score finished cells with a metric they were not run with, from their
final-step checkpoints, without retraining.

Each cell is rebuilt from the configuration its store row holds (its id must hash the same), its
components from the registry; the family's evaluator loads the checkpoint's trainer state and
returns the eval context its trainer handed metrics at that step, and the global RNGs are put back
as they were before that step's metrics ran, so a rescored value equals the one the run would have
recorded with the metric in its suite.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field

from genbench import kernels
from genbench.api.axes import AXIS_NAMES
from genbench.api.errors import ConfigError
from genbench.api.registry import Registry
from genbench.api.result import MetricRow, metric_rows
from genbench.results.store import StoredCell
from genbench.run.checkpoints import Checkpoints, set_global_rng_state
from genbench.run.environment import resolve_device
from genbench.run.runner import build_setup, eval_contexts
from genbench.suite.config import ComponentConfig, _Validator, metric_applies, metric_scope, train_params
from genbench.suite.plan import Cell, unhashed_train

SPEC_EXAMPLE = "'{ name = \"modes\", n_samples = 500 }'"


def parse_metric(text: str, registry: Registry) -> ComponentConfig:
    """--metric: a metric name, or an inline TOML table as a suite's eval.metrics entries are
    written; its parameters are validated exactly as a suite file's."""
    raw: object = text.strip()
    if text.strip().startswith("{"):
        try:
            raw = tomllib.loads(f"metric = {text.strip()}")["metric"]
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"--metric {text!r} is not a metric name or an inline TOML table ({exc}); "
                              f"fix: write a name, or a table as in a suite's eval.metrics, e.g. "
                              f"{SPEC_EXAMPLE}") from None
    return _Validator("--metric", registry).component(raw, "metric", "metric")


def stored_cell(stored: StoredCell, suite: str, registry: Registry) -> Cell | None:
    """The Cell a store row was run as (labels from its axes), or None when its configuration no
    longer hashes to its id. Parameters left out of the id at their defaults (Param.id_if_default)
    get those defaults back."""
    config = json.loads(stored.row["config"])

    def component(kind: str, entry: dict, label: str) -> ComponentConfig:
        params = {k: _tupled(v) for k, v in entry["params"].items()}
        name = registry.stored_name(kind, entry["name"])
        known = name in registry.names(kind)  # an unknown one is refused later, with its name
        spec_params = registry.get(kind, name).params if known else {}
        unhashed = tuple(sorted(k for k, p in spec_params.items() if not p.id_if_default and k not in params))
        params.update({k: spec_params[k].default for k in unhashed})
        return ComponentConfig(kind, name, tuple(sorted(params.items())), label, unhashed=unhashed)

    components = tuple(component(axis, config[axis], stored.axes.get(axis, config[axis]["name"]))
                       for axis in AXIS_NAMES)
    metrics = tuple(component("metric", m, m["name"]) for m in config["metrics"])
    train = {k: _tupled(v) for k, v in config["train"].items()}
    model = config["model"]["name"]
    family = registry.get("model", model).family if model in registry.names("model") else None
    unhashed: tuple[str, ...] = ()
    if family in registry.names("family"):
        defaults = {k: p.default for k, p in train_params(registry, family).items() if not p.id_if_default}
        train.update({k: v for k, v in defaults.items() if k not in train})
        unhashed = unhashed_train(registry, family, train, config.get("search", {}))
    search = tuple((k, _tupled(v)) for k, v in config.get("search", {}).items())
    cell = Cell(suite, components, metrics, tuple(sorted(train.items())), tuple(config["eval_steps"]), config["seed"],
                config.get("trial"), search, unhashed)
    return cell if cell.cell_id == stored.cell_id else None


def _tupled(value):
    return tuple(value) if isinstance(value, list) else value  # Cell.resolved() wrote tuples as lists


@dataclass
class RescorePlan:
    """Which cells a metric will score, and why the others will not be."""

    todo: list[Cell] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (cell path or id, reason)


def plan_rescore(cells: list[tuple[StoredCell, Cell | None]], metric: ComponentConfig, registry: Registry,
                 checkpoints: Checkpoints, existing: dict[str, set[tuple[int, str]]],
                 overwrite: bool) -> RescorePlan:
    """Sort the selected cells into those to score and those skipped with the reason; a
    ConfigError before any work when none can be scored or the values exist (without overwrite)."""
    spec, plan = registry.get("metric", metric.name), RescorePlan()
    clashes = []
    for stored, cell in cells:
        where = cell.path if cell is not None else stored.cell_id
        if stored.status != "done":
            plan.skipped.append((where, f"status {stored.status}: only finished (done) cells are rescored"))
            continue
        if cell is None:
            plan.skipped.append((where, "its stored configuration no longer hashes to its id"))
            continue
        model, dataset = cell.component("model"), cell.component("dataset")
        final = cell.eval_steps[-1]
        family = registry.get("family", registry.get("model", model.name).family)
        kernel = registry.get("kernel", cell.component("kernel").name)
        info = registry.get("dataset", dataset.name).data_info(dataset.kwargs())
        problem = spec.fits(info, **metric.kwargs()) if spec.fits else None
        if not metric_applies(registry, metric, model, dataset):
            reason = (f"metric {metric.name!r} {metric_scope(spec)}, not {family.name} on {info.domain} data "
                      f"({family.name} provides {', '.join(family.provides)})")
        elif problem:
            reason = f"metric {metric.label!r} cannot score dataset {dataset.label!r}: {problem}"
        elif family.evaluator is None:
            reason = f"family {family.name!r} has no evaluator (FamilySpec.evaluator)"
        elif final not in checkpoints.steps(cell.cell_id):
            reason = (f"no checkpoint of its final step {final} ({checkpoints.path(cell.cell_id, final)}): "
                      f"it ran with --checkpoints none, or its family saves no state")
        elif kernel.available() is not None:
            reason = f"its kernel backend {kernel.name!r} is not usable here: {kernel.available()}"
        else:
            reason = None
        if reason is not None:
            plan.skipped.append((where, reason))
            continue
        clash = sorted(name for step, name in existing.get(cell.cell_id, ()) if step == final and name in spec.outputs)
        if clash and not overwrite:
            clashes.append(f"{cell.path} has {', '.join(clash)} at step {final}")
        plan.todo.append(cell)
    if clashes:
        raise ConfigError(f"metric {metric.label!r} would overwrite values the cells already have: "
                          f"{'; '.join(clashes[:5])}{' ...' if len(clashes) > 5 else ''}; fix: add --replace to "
                          f"score again and overwrite them, or pick other cells with --only")
    if not plan.todo:
        reasons = "; ".join(f"{where}: {reason}" for where, reason in plan.skipped[:5]) or "no cell selected"
        raise ConfigError(f"metric {metric.label!r} can score none of the selected cells ({reasons}); fix: pick "
                          f"another metric, or the cells with --suite/--only")
    return plan


def rescore_cell(cell: Cell, metric: ComponentConfig, registry: Registry,
                 checkpoints: Checkpoints) -> list[MetricRow]:
    """Score `cell` with `metric` from its final-step checkpoint; the rows to add to the store."""
    step = cell.eval_steps[-1]
    saved = checkpoints.load(cell.cell_id, step)
    device = resolve_device(cell.train_config()["device"])
    with kernels.use(registry.get("kernel", cell.component("kernel").name).backend()):
        family, setup = build_setup(cell, registry, device)
        spec = registry.get("metric", metric.name)
        score = spec.factory(**metric.kwargs())
        context = family.evaluator(setup, saved["trainer"])
        set_global_rng_state(saved["rng_at_eval"])  # as the run's metrics found them at that step
        return [row for variant, ctx in eval_contexts(context, step)
                for row in metric_rows(metric.name, metric.kwargs(), spec.output_info(), cell.seed, step,
                                       score(ctx), variant, rescored=True,
                                       checkpoint=str(checkpoints.path(cell.cell_id, step)))]
