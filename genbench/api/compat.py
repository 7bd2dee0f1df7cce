"""Adapters for plugin contracts genbench has changed: the old form keeps working, with a
PluginDeprecationWarning (a DeprecationWarning) naming the new form, until the plugin API
version it is removed in.

Every adapter lives here, each with its Deprecation (the old form, the new one, the plugin API
version that replaced it and the one that removes it); docs/plugin_hooks.md lists the same
schedule. genbench.api.contracts applies the factory and method adapters where a plugin's spec
or objective does not match today's contract; install() makes the old module paths importable.
When PLUGIN_API reaches a `removed_in`, delete the adapter and its row in the docs.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from genbench import kernels


class PluginDeprecationWarning(DeprecationWarning):
    """A plugin uses a contract genbench still accepts but will stop accepting."""


@dataclass(frozen=True)
class Deprecation:
    old: str
    new: str
    since: str  # the plugin API version that replaced the old form
    removed_in: str  # the plugin API version that stops accepting it

    def warn(self, who: str | None = None, stacklevel: int = 3) -> None:
        """Warn that `who` (e.g. "objective 'x' of plugin 'p' (distribution 'd')") uses the old form."""
        warnings.warn(f"{who + ': ' if who else ''}{self.old} is deprecated since plugin API {self.since} "
                      f"and stops working in {self.removed_in}; {self.new}.", PluginDeprecationWarning,
                      stacklevel=stacklevel)


BACKEND_ARGUMENT = Deprecation(
    "a factory argument backend=",
    "take no backend: call genbench.kernels.functional ops, which run on the cell's kernel backend",
    "2.0", "3.0")
ONE_ARGUMENT_GENERATOR_LOSS = Deprecation(
    "generator_loss(fake_logits)",
    "write generator_loss(real_logits, fake_logits) (real_logits is None unless the objective sets "
    "generator_needs_real = True)",
    "2.0", "3.0")
MOVED_MODULE = Deprecation("a module path of before 2026-12-07", "import it from its new place", "2.1", "3.0")
METRIC_FAMILIES = Deprecation(
    "MetricSpec(families=...)",
    "declare what the metric reads from an eval context with needs=(...); each FamilySpec.provides "
    "says what its context gives (the families listed still restrict the metric until then)",
    "2.2", "3.0")
DEPRECATIONS = (BACKEND_ARGUMENT, ONE_ARGUMENT_GENERATOR_LOSS, MOVED_MODULE, METRIC_FAMILIES)


def _active_backend() -> str | None:
    """What plugin API 1.0 passed as backend=: the cell's kernel backend, by name."""
    backend = kernels.current()
    return None if backend is None else backend.name


@dataclass(frozen=True)
class ArgumentAdapter:
    """A factory argument genbench no longer passes: supplied for factories that still require it."""

    deprecation: Deprecation
    kinds: tuple[str, ...]  # the kinds whose factories received it
    value: Callable[[], Any]

    def adapt(self, name: str, factory: Callable[..., Any]) -> Callable[..., Any]:
        def supplying(*args, **params):
            return factory(*args, **{name: self.value()}, **params)

        return supplying


@dataclass(frozen=True)
class MethodAdapter:
    """An objective method whose arguments changed: `adapt(method)` calls the old form with
    today's arguments."""

    deprecation: Deprecation
    old_arity: int
    adapt: Callable[[Callable[..., Any]], Callable[..., Any]]


def _fake_logits_only(method: Callable[..., Any]) -> Callable[..., Any]:
    def generator_loss(real_logits, fake_logits):
        return method(fake_logits)

    return generator_loss


FACTORY_ARGUMENTS = {"backend": ArgumentAdapter(BACKEND_ARGUMENT, ("model", "objective"), _active_backend)}
# (method, today's arity) -> the adapter of its old form
METHODS = {("generator_loss", 2): MethodAdapter(ONE_ARGUMENT_GENERATOR_LOSS, 1, _fake_logits_only)}

# Plugin-facing modules that moved when genbench/ was split by concern (commit 303cf78).
MOVED_MODULES = {
    "genbench.executors": "genbench.run.executors",
    "genbench.runner": "genbench.run.runner",
    "genbench.checkpoints": "genbench.run.checkpoints",
    "genbench.loggers": "genbench.run.loggers",
    "genbench.plan": "genbench.suite.plan",
    "genbench.limits": "genbench.suite.limits",
    "genbench.result": "genbench.api.result",
}
# genbench.report was the summary module and is now a package of these aliases: what a reporter
# plugin imported from it, and where it lives now (the renderers moved to the reporter plugins)
MOVED_NAMES = {"genbench.report": {"ReportView": "genbench.results", "GroupSummary": "genbench.results.summary",
                                   "summarize": "genbench.results.summary"}}


def moved_attribute(module: str, name: str) -> Any:
    """An old name of `module` that moved (module-level __getattr__), with its warning."""
    target = MOVED_NAMES[module].get(name)
    if target is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    Deprecation(f"{module}.{name}", f"import it from {target}", MOVED_MODULE.since,
                MOVED_MODULE.removed_in).warn()
    return getattr(importlib.import_module(target), name)


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an old module path as a module forwarding every attribute to the new one."""

    def find_spec(self, name, path=None, target=None):
        return importlib.util.spec_from_loader(name, self) if name in MOVED_MODULES else None

    def create_module(self, spec):
        return None  # a plain module, filled in by exec_module

    def exec_module(self, module) -> None:
        new = importlib.import_module(MOVED_MODULES[module.__name__])
        Deprecation(f"the module {module.__name__}", f"import {new.__name__}", MOVED_MODULE.since,
                    MOVED_MODULE.removed_in).warn(stacklevel=2)
        module.__getattr__ = lambda name: getattr(new, name)
        module.__dir__ = lambda: dir(new)


def install() -> None:
    """Make the moved module paths importable (once per process)."""
    if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModules())
