"""Plugin loading and the registry: built-ins from genbench.plugins, others from entry points.

Each plugin's hook implementations are called one at a time with a `register` callback bound to
that plugin, so the registry knows who registered what. Each registration succeeds or fails on
its own: a malformed spec becomes a PluginError in `Registry.problems` and the rest of the hook
goes on; a plugin that fails to import is one too, and the others keep working.

Every component has a qualified name, `distribution:name` (built-ins: `genbench:name`). A table
is keyed by canonical names: the plain name while one distribution registers it, the qualified
name once two do; the plain name is then ambiguous wherever it is used, and the error lists the
qualified names. Cell ids name components by id_name(): a built-in always by its plain name, so
a plugin that registers a built-in's name changes no stored cell's id.

A component may be registered but refused: its plugin declares a plugin API range without
PLUGIN_API (genbench.api.versions), or a callable of its spec cannot take genbench's call
(genbench.api.contracts). `get` raises the PluginError saying why; `genbench list` shows it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import pkgutil
import re
import warnings
from dataclasses import dataclass, field, replace

import pluggy
from packaging.utils import canonicalize_name

from . import hookspecs
from genbench.api import compat, contracts, versions
from genbench.api.errors import ConfigError, PluginError, UnknownComponentError, close_matches
from genbench.api.specs import KINDS, SPEC_KINDS, KernelSpec, MetricSpec, ModelSpec, ObjectiveSpec, Param

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "genbench"
BUILTIN_DISTRIBUTION = "genbench"
NO_DISTRIBUTION = "unknown"  # the distribution of a plugin no distribution installed
BUILTIN_PACKAGE = "genbench.plugins"  # every module below it is a built-in plugin
HOOK_KINDS = {kind.hook: kind.name for kind in KINDS}  # hook name -> the kind of spec it registers
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
PARAM_TYPES = (int, float, str, bool, tuple)


def id_name(name: str) -> str:
    """How a component's canonical name enters cell ids: built-ins by their plain name."""
    return name.removeprefix(BUILTIN_DISTRIBUTION + ":")


@dataclass(frozen=True)
class Registered:
    """A spec, where it came from, and why it is refused (None: usable)."""

    spec: object
    plugin: str
    distribution: str
    problem: str | None = None

    @property
    def qualified(self) -> str:
        """`distribution:name`, the distribution's name normalised (PEP 503)."""
        owner = self.plugin if self.distribution == NO_DISTRIBUTION else self.distribution
        return f"{canonicalize_name(owner)}:{self.spec.name}"

    def describe(self, kind: str) -> str:
        return f"{kind} {self.spec.name!r} of plugin {self.plugin!r} (distribution {self.distribution!r})"


@dataclass
class Registry:
    """Canonical name -> spec tables per kind, plus the plugin problems met while loading."""

    tables: dict[str, dict[str, Registered]] = field(
        default_factory=lambda: {kind: {} for kind in SPEC_KINDS}
    )
    problems: list[PluginError] = field(default_factory=list)

    def names(self, kind: str) -> list[str]:
        return sorted(self.tables[kind])

    def get(self, kind: str, name: str):
        """The spec `name` (plain or qualified) names; UnknownComponentError with close matches,
        ConfigError for an ambiguous plain name, PluginError for a refused component."""
        entry = self.origin(kind, name)
        if entry.problem is not None:
            raise PluginError(entry.problem)
        return entry.spec

    def origin(self, kind: str, name: str) -> Registered:
        table = self.tables[kind]
        if name in table:
            return table[name]
        owner, qualified, plain = name.rpartition(":")
        wanted = f"{canonicalize_name(owner)}:{plain}" if qualified else name
        found = [e for e in table.values() if (e.qualified if qualified else e.spec.name) == wanted]
        if len(found) == 1:
            return found[0]
        if found:
            choices = " or ".join(sorted(e.qualified for e in found))
            raise ConfigError(f"{kind} {name!r} is ambiguous: {len(found)} distributions register it; "
                              f"fix: name one of them, {choices}.")
        known = ", ".join(sorted(table)) or "none"
        message = f"unknown {kind} {name!r}.{close_matches(name, table)} Registered {kind}s: {known}."
        if self.problems:
            message += f" ({len(self.problems)} plugin problem(s); `genbench list` shows them.)"
        raise UnknownComponentError(message)

    def canonical(self, kind: str, name: str) -> str:
        """The table key of the component a plain or qualified `name` names."""
        entry = self.origin(kind, name)
        return entry.spec.name if self.tables[kind].get(entry.spec.name) is entry else entry.qualified

    def default(self, kind: str, role: str = "default") -> str:
        """The name of the component of `kind` whose spec says `role` (e.g. `default=True`: the
        executor `genbench run` uses without --executor); the first registered wins, and the
        built-ins are registered first. UnknownComponentError if none says it."""
        for name, registered in self.tables[kind].items():
            if registered.problem is None and getattr(registered.spec, role, False) is True:
                return name
        raise UnknownComponentError(f"no registered {kind} is the {role} one; fix: name a {kind} "
                                    f"(`genbench list --kind {kind}`): {', '.join(self.names(kind)) or 'none'}")

    def stored_name(self, kind: str, name: str) -> str:
        """The canonical name of the component a stored cell's configuration names (id_name)."""
        builtin = f"{BUILTIN_DISTRIBUTION}:{name}"
        return builtin if name not in self.tables[kind] and builtin in self.tables[kind] else name

    def build_objective(self, name: str, params: dict):
        """The objective `name` built with `params` and checked against (and adapted to) its
        family's objective contract; PluginError naming what does not fit."""
        spec = self.get("objective", name)
        objective = spec.factory(**params)
        family = self.get("family", spec.family)
        if not (family.objective_contract or family.objective_optional):
            return objective
        return contracts.conform_objective(objective, family, self.origin("objective", name).describe("objective"))

    def ambiguities(self) -> list[str]:
        """A line per plain name two distributions register, with its qualified names."""
        lines = []
        for kind, table in self.tables.items():
            qualified: dict[str, list[str]] = {}
            for key, entry in table.items():
                if key == entry.qualified:
                    qualified.setdefault(entry.spec.name, []).append(key)
            lines += [f"{kind} {name!r} is registered by {len(keys)} distributions: suites name it "
                      f"{' or '.join(sorted(keys))}" for name, keys in sorted(qualified.items()) if len(keys) > 1]
        return lines

    def add(self, kind: str, spec, plugin: str, distribution: str) -> Registered:
        """Validate and store one spec; PluginError for a malformed spec or a qualified name
        taken. A spec whose callables cannot take genbench's call is stored refused."""
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
        entry = Registered(spec, plugin, distribution)
        table = self.tables[kind]
        same = [e for e in table.values() if e.spec.name == spec.name]
        for taken in same:
            if taken.qualified == entry.qualified:
                raise PluginError(
                    f"{where} registered {kind} {spec.name!r}, which plugin {taken.plugin!r} of the same "
                    f"distribution already registered as {taken.qualified}; fix: rename one of them."
                )
        who = entry.describe(kind)
        spec, problems = contracts.check_spec(kind, spec, who)
        entry = Registered(spec, plugin, distribution, f"{who}: {'; '.join(problems)}" if problems else None)
        if spec.name in table:  # another distribution's: from now on both go by qualified names
            first = table.pop(spec.name)
            table[first.qualified] = first
        table[entry.qualified if same else spec.name] = entry
        log.debug("%s registered %s %s", where, kind, entry.qualified)
        return entry

    def refuse(self, plugin: str, problem: str) -> None:
        """Refuse every component `plugin` registered, and record why."""
        refused = []
        for kind, table in self.tables.items():
            for key, entry in table.items():
                if entry.plugin == plugin:
                    table[key] = replace(entry, problem=problem)
                    refused.append(f"{kind} {key}")
        self.problems.append(PluginError(f"{problem} Refused: {', '.join(refused) or 'nothing registered'}."))


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
    origins: dict[str, tuple[str, str | None]] = {}  # plugin -> (distribution, declared API range)
    for module_name in builtin_plugins():
        module = importlib.import_module(module_name)
        pm.register(module, name=module_name)
        origins[module_name] = (BUILTIN_DISTRIBUTION, None)
    if entry_points:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist is not None else NO_DISTRIBUTION
            where = f"plugin {ep.name!r} (distribution {dist!r})"
            try:
                module = ep.load()
                declared = versions.declared_range(module, where)
                pm.register(module, name=ep.name)
            except PluginError as exc:
                registry.problems.append(exc)
                continue
            except Exception as exc:  # a broken plugin must not take down the others
                registry.problems.append(
                    PluginError(
                        f"{where} ({ep.value}) failed to load: {type(exc).__name__}: {exc}; fix: repair "
                        f"or upgrade it, or `pip uninstall {dist}`."
                    )
                )
                continue
            origins[ep.name] = (dist, declared)
    incompatible = {plugin: declared for plugin, (_, declared) in origins.items()
                    if declared is not None and not versions.compatible(declared)}
    for hook_name, kind in HOOK_KINDS.items():
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            plugin = impl.plugin_name
            dist = origins.get(plugin, (NO_DISTRIBUTION, None))[0]

            def register(spec, _kind=kind, _plugin=plugin, _dist=dist):
                try:
                    entry = registry.add(_kind, spec, _plugin, _dist)
                except PluginError as exc:  # this registration fails alone
                    registry.problems.append(exc)
                    return
                if entry.problem is not None:
                    registry.problems.append(PluginError(entry.problem))

            with warnings.catch_warnings():
                if plugin in incompatible:  # refused below: its deprecated forms do not matter
                    warnings.simplefilter("ignore", compat.PluginDeprecationWarning)
                try:
                    impl.function(register=register)
                except Exception as exc:
                    registry.problems.append(
                        exc if isinstance(exc, PluginError) else PluginError(
                            f"plugin {plugin!r} (distribution {dist!r}) raised in {hook_name}: "
                            f"{type(exc).__name__}: {exc}; fix: repair or uninstall the plugin."
                        )
                    )
    for plugin, declared in incompatible.items():
        kinds = {HOOK_KINDS[c.name] for c in pm.get_hookcallers(pm.get_plugin(plugin)) or () if c.name in HOOK_KINDS}
        why = versions.incompatibility(declared, kinds)
        registry.refuse(plugin, f"plugin {plugin!r} (distribution {origins[plugin][0]!r}) {why}")
    return registry
