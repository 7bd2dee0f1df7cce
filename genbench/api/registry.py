"""Plugin loading and the registry: built-ins from genbench.plugins, others from entry points.

Each plugin's hook implementations are called one at a time with a `register` callback bound to
that plugin, so the registry knows who registered what, and a plugin that fails (import error,
malformed spec, duplicate name) becomes a PluginError in `Registry.problems` while the others
keep working.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import pkgutil
import re
from dataclasses import dataclass, field

import pluggy

from . import hookspecs
from genbench.api.errors import PluginError, UnknownComponentError, close_matches
from genbench.api.specs import KINDS, SPEC_KINDS, KernelSpec, MetricSpec, ModelSpec, ObjectiveSpec, Param

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "genbench"
BUILTIN_DISTRIBUTION = "genbench"
BUILTIN_PACKAGE = "genbench.plugins"  # every module below it is a built-in plugin
HOOK_KINDS = {kind.hook: kind.name for kind in KINDS}  # hook name -> the kind of spec it registers
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
PARAM_TYPES = (int, float, str, bool, tuple)


@dataclass(frozen=True)
class Registered:
    """A spec and where it came from."""

    spec: object
    plugin: str
    distribution: str


@dataclass
class Registry:
    """Name -> spec tables per kind, plus the plugin problems met while loading."""

    tables: dict[str, dict[str, Registered]] = field(
        default_factory=lambda: {kind: {} for kind in SPEC_KINDS}
    )
    problems: list[PluginError] = field(default_factory=list)

    def names(self, kind: str) -> list[str]:
        return sorted(self.tables[kind])

    def get(self, kind: str, name: str):
        """The spec registered as `name`, or UnknownComponentError with close matches."""
        table = self.tables[kind]
        if name in table:
            return table[name].spec
        known = ", ".join(sorted(table)) or "none"
        message = f"unknown {kind} {name!r}.{close_matches(name, table)} Registered {kind}s: {known}."
        if self.problems:
            message += f" ({len(self.problems)} plugin(s) failed to load; `genbench list` shows why.)"
        raise UnknownComponentError(message)

    def default(self, kind: str, role: str = "default") -> str:
        """The name of the component of `kind` whose spec says `role` (e.g. `default=True`: the
        executor `genbench run` uses without --executor); the first registered wins, and the
        built-ins are registered first. UnknownComponentError if none says it."""
        for name, registered in self.tables[kind].items():
            if getattr(registered.spec, role, False) is True:
                return name
        raise UnknownComponentError(f"no registered {kind} is the {role} one; fix: name a {kind} "
                                    f"(`genbench list --kind {kind}`): {', '.join(self.names(kind)) or 'none'}")

    def origin(self, kind: str, name: str) -> Registered:
        return self.tables[kind][name]

    def add(self, kind: str, spec, plugin: str, distribution: str) -> None:
        """Validate and store one spec; PluginError for a malformed spec or a taken name."""
        where = f"plugin {plugin!r} (distribution {distribution!r})"
        expected = SPEC_KINDS[kind]
        if not isinstance(spec, expected):
            raise PluginError(
                f"{where} registered a {type(spec).__name__} as a {kind}; "
                f"fix: pass a genbench.{expected.__name__} to register()."
            )
        problem = _spec_problem(spec)
        if problem:
            raise PluginError(f"{where} registered a malformed {kind} {spec.name!r}: {problem}")
        taken = self.tables[kind].get(spec.name)
        if taken is not None:
            raise PluginError(
                f"{where} registered {kind} {spec.name!r}, which plugin {taken.plugin!r} "
                f"(distribution {taken.distribution!r}) already registered; fix: rename one of "
                f"them (names are global), or uninstall one distribution."
            )
        self.tables[kind][spec.name] = Registered(spec, plugin, distribution)
        log.debug("%s registered %s %s", where, kind, spec.name)


def _spec_problem(spec) -> str | None:
    """Why a spec is malformed, or None."""
    if not isinstance(spec.name, str) or not NAME_PATTERN.match(spec.name):
        return f"name {spec.name!r} must be lower-case letters, digits, '_', '-' or '.'"
    if not isinstance(spec.description, str) or not spec.description.strip():
        return "description must be a non-empty one-line string"
    if "\n" in spec.description:
        return "description must be one line (put details in the plugin's docs)"
    if isinstance(spec, KernelSpec):
        return _kernel_problem(spec)
    if not callable(spec.factory):
        return f"factory must be callable, got {type(spec.factory).__name__}"
    for key, param in dict(spec.params).items():
        if not isinstance(param, Param):
            return f"parameter {key!r} must be a genbench.Param, got {type(param).__name__}"
        if param.type not in PARAM_TYPES:
            return f"parameter {key!r} default must be int, float, str, bool or tuple"
        try:
            param.check(param.default)
        except ValueError as exc:
            return f"parameter {key!r} default is invalid: {exc}"
    if isinstance(spec, ModelSpec | ObjectiveSpec) and not (isinstance(spec.family, str) and spec.family):
        return "family= must name the model family it belongs to (`genbench list --kind family`)"
    if isinstance(spec, MetricSpec) and not spec.outputs:
        return "a metric must declare at least one output"
    return None


def _kernel_problem(spec: KernelSpec) -> str | None:
    if spec.params:
        return "kernel backends take no parameters"
    if not callable(spec.available):
        return f"available must be callable, got {type(spec.available).__name__}"
    if spec.prepare is not None and not callable(spec.prepare):
        return f"prepare must be callable or None, got {type(spec.prepare).__name__}"
    for op, impl in dict(spec.ops).items():
        if not isinstance(op, str) or not callable(impl):
            return f"ops must map op names to callables, got {op!r}: {type(impl).__name__}"
    return None


def get_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("genbench")
    pm.add_hookspecs(hookspecs)
    return pm


def builtin_plugins() -> list[str]:
    """The modules of genbench.plugins, sorted: each is registered as a plugin (modules
    without hook implementations simply register nothing)."""
    package = importlib.import_module(BUILTIN_PACKAGE)
    return sorted(m.name for m in pkgutil.walk_packages(package.__path__, f"{BUILTIN_PACKAGE}.")
                  if not m.ispkg)


def load_plugins(entry_points: bool = True) -> Registry:
    """Load the built-ins and (by default) every entry-point plugin into a new Registry."""
    pm = get_plugin_manager()
    registry = Registry()
    distributions: dict[str, str] = {}
    for module_name in builtin_plugins():
        module = importlib.import_module(module_name)
        pm.register(module, name=module_name)
        distributions[module_name] = BUILTIN_DISTRIBUTION
    if entry_points:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist is not None else "unknown"
            try:
                module = ep.load()
                pm.register(module, name=ep.name)
            except Exception as exc:  # a broken plugin must not take down the others
                registry.problems.append(
                    PluginError(
                        f"plugin {ep.name!r} (distribution {dist!r}, {ep.value}) failed to load: "
                        f"{type(exc).__name__}: {exc}; fix: repair or upgrade it, or "
                        f"`pip uninstall {dist}`."
                    )
                )
                continue
            distributions[ep.name] = dist
    for hook_name, kind in HOOK_KINDS.items():
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            plugin, dist = impl.plugin_name, distributions.get(impl.plugin_name, "unknown")

            def register(spec, _kind=kind, _plugin=plugin, _dist=dist):
                registry.add(_kind, spec, _plugin, _dist)

            try:
                impl.function(register=register)
            except PluginError as exc:
                registry.problems.append(exc)
            except Exception as exc:
                registry.problems.append(
                    PluginError(
                        f"plugin {plugin!r} (distribution {dist!r}) raised in {hook_name}: "
                        f"{type(exc).__name__}: {exc}; fix: repair or uninstall the plugin."
                    )
                )
    return registry
