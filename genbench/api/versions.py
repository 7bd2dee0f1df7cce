"""The plugin API's version: what a plugin may rely on, and what changed when.

PLUGIN_API is "MAJOR.MINOR". A minor version adds (a hook, a spec field, an optional method) and
may deprecate an old form, which keeps working with a warning (genbench.api.compat); a major
version removes or changes something plugins rely on. A plugin may declare the versions it
supports, as a PEP 440 specifier in its entry-point module:

    GENBENCH_PLUGIN_API = ">=2.1,<3"

The registry refuses the components of a plugin whose declaration excludes PLUGIN_API, with the
changes since the version it was written for. CHANGES is the record; the table in
docs/plugin_hooks.md and CHANGELOG.md follow it (tests/test_plugin_api.py checks the docs).
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from genbench.api.errors import PluginError

PLUGIN_API = "2.2"
DECLARATION = "GENBENCH_PLUGIN_API"  # the module attribute a plugin declares its range with
DOCS = "docs/plugin_hooks.md (Plugin API versions)"


@dataclass(frozen=True)
class Release:
    """A plugin API version and the genbench release that brought it."""

    api: str
    genbench: str
    date: str


@dataclass(frozen=True)
class Change:
    """One change to what plugins rely on."""

    version: str  # the plugin API version that made it
    text: str
    kinds: tuple[str, ...] = ()  # the component kinds it touches; () = every plugin
    breaking: bool = False


# genbench's version string stayed 0.1.0 until 0.2.0; plugin API 1.0 and 2.0 are reconstructed
# from the git history (CHANGELOG.md names the commits).
RELEASES = (
    Release("1.0", "0.1.0", "2026-11-24"),
    Release("2.0", "0.1.0", "2026-12-02"),
    Release("2.1", "0.2.0", "2026-12-07"),
    Release("2.2", "0.3.0", "2026-12-07"),
)

CHANGES = (
    Change("1.0", "hooks register_datasets, register_models, register_objectives, register_metrics, "
                  "register_kernels and register_trainers; factories take keyword parameters"),
    Change("2.0", "model factories are called factory(info, **params) and objective factories "
                  "factory(**params): no backend= argument, and genbench.kernels.functional ops "
                  "take none either (they run on the cell's kernel backend)", ("model", "objective"),
           breaking=True),
    Change("2.0", "GAN objectives: generator_loss(real_logits, fake_logits) replaces "
                  "generator_loss(fake_logits); generator_needs_real = True passes D's logits on a "
                  "real batch", ("objective",), breaking=True),
    Change("2.0", "register_trainers and TrainerSpec are replaced by register_families and "
                  "FamilySpec: a trainer is a generator of TrainStep (TrainStats and TrainSetup's "
                  "evaluate, record and progress are gone; TrainSetup.optimizer is new)",
           ("family",), breaking=True),
    Change("2.0", "KernelSpec is an op table (ops=, available=, prepare=) instead of factory() "
                  "returning why the backend is unavailable", ("kernel",), breaking=True),
    Change("2.0", "ModelSpec and ObjectiveSpec must name their family= (no default); genbench no "
                  "longer exports GANModel (the GAN family's module does)", ("model", "objective"),
           breaking=True),
    Change("2.0", "families and data domains are registered (register_families, "
                  "register_domains), not fixed lists: DataInfo.domain names a registered domain, "
                  "MetricSpec and ModelSpec domains/families default to () = any",
           ("dataset", "model", "metric"), breaking=True),
    Change("2.0", "hooks register_optimizers (the optimizer axis), register_domains, "
                  "register_reporters and register_executors"),
    Change("2.0", "checkpoints: TrainStep.state, TrainSetup.resume (genbench.Resume) and "
                  "FamilySpec.evaluator (genbench rescore)", ("family",)),
    Change("2.0", "DataInfo.extras, MetricSpec.repeatable, Param.id_if_default, Statistic.panel, "
                  "ReporterSpec.logger; objective flags generator_needs_real and double_backward; "
                  "GANModel.pack"),
    Change("2.1", f"a plugin declares the plugin API versions it supports ({DECLARATION})"),
    Change("2.1", "qualified names distribution:name; a name two distributions register is "
                  "ambiguous unqualified instead of failing the second registration, and one "
                  "failed registration no longer stops the rest of its hook"),
    Change("2.1", "factories are checked against their declared parameters when registered, and "
                  "objectives against FamilySpec.objective_contract (and objective_optional) "
                  "before any work", ("family", "objective")),
    Change("2.1", "deprecated, accepted until 3.0: factories taking backend=, "
                  "generator_loss(fake_logits), and the module paths moved on 2026-12-07 "
                  "(genbench.executors, genbench.runner, genbench.report.ReportView, ...)"),
    Change("2.2", "FamilySpec.provides and MetricSpec.needs decide where a metric applies; "
                  "MetricSpec.families is deprecated, accepted until 3.0", ("family", "metric")),
    Change("2.2", "roles instead of built-in names: ExecutorSpec.default, ReporterSpec.terminal, "
                  "default, compares and page; an executor's options are its params (a suite's "
                  "[executor] table, --executor-opt)", ("executor", "reporter")),
    Change("2.2", "genbench.load_weights, the safe loader of torch files users give; the built-in "
                  "GAN model type moved below the models (docs/plugin_hooks.md)", ("model", "metric")),
)


def declared_range(plugin: object, where: str) -> str | None:
    """The plugin API range a loaded entry point declares (None: it declares none); PluginError
    for a declaration that is not a PEP 440 specifier."""
    declared = getattr(plugin, DECLARATION, None)
    if declared is None:
        return None
    try:
        if not isinstance(declared, str):
            raise InvalidSpecifier(f"{declared!r} is a {type(declared).__name__}, not a string")
        SpecifierSet(declared)
    except InvalidSpecifier as exc:
        raise PluginError(f"{where} declares {DECLARATION} = {declared!r}, which is not a version "
                          f"specifier ({exc}); fix: write e.g. {DECLARATION} = {_suggested()!r}.") from None
    return declared


def compatible(declared: str) -> bool:
    return SpecifierSet(declared).contains(PLUGIN_API)


def _suggested() -> str:
    return f">={PLUGIN_API},<{Version(PLUGIN_API).major + 1}"


def incompatibility(declared: str, kinds: set[str]) -> str:
    """Why a plugin declaring `declared` and registering `kinds` cannot be used with this plugin
    API, with the changes that affect it and the fix."""
    head = (f"declares {DECLARATION} = {declared!r}, but this genbench provides plugin API "
            f"{PLUGIN_API}")
    known = [r.api for r in RELEASES if SpecifierSet(declared).contains(r.api)]
    if not known:
        return (f"{head}, and no plugin API it names has been released: the plugin needs another "
                f"genbench; fix: install the genbench it was written for, or a release of the plugin "
                f"that supports plugin API {PLUGIN_API}.")
    since = max(known, key=Version)
    changes = [c for c in CHANGES if Version(c.version) > Version(since) and c.breaking
               and (not c.kinds or set(c.kinds) & kinds)]
    what = ", ".join(sorted(kinds)) or "nothing"
    if changes:
        listed = "; ".join(f"[{c.version}] {c.text}" for c in changes)
        found = f"Changes since then to what it registers ({what}): {listed}"
    else:
        found = f"No breaking change since then touches what it registers ({what}): it may well work"
    return (f"{head}; it was written for plugin API {since}. {found}. Fix: update the plugin (see "
            f"{DOCS}) and declare {DECLARATION} = {_suggested()!r}, or install a release of it that does.")
