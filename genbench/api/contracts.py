"""How genbench calls what plugins register, checked before any work.

CALLS says, per kind, how the core calls each callable a spec carries: the positional arguments
it passes, the keywords besides the declared parameters, and whether the declared parameters are
passed at all. check_spec() compares each callable's signature with that call when the spec is
registered (a required argument nobody passes, a declared parameter it does not accept, too many
positional ones), and supplies a deprecated argument through genbench.api.compat where an
adapter covers it. conform_objective() checks a built objective's methods against its family's
FamilySpec.objective_contract (names and arity) and adapts deprecated forms the same way.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from genbench.api import compat
from genbench.api.errors import PluginError


@dataclass(frozen=True)
class Call:
    """How the core calls one callable of a spec."""

    attribute: str  # the spec's field: factory, fits, info, ...
    positional: tuple[str, ...] = ()  # what it passes positionally, by name (for messages)
    keywords: tuple[str, ...] = ()  # keywords passed besides the declared parameters
    params: bool = True  # whether the declared parameters are passed as keywords

    def form(self) -> str:
        args = [*self.positional, *(f"{k}=" for k in self.keywords), *(["**params"] if self.params else [])]
        return f"{self.attribute}({', '.join(args)})"


CALLS: dict[str, tuple[Call, ...]] = {
    "dataset": (Call("factory"), Call("info")),
    "model": (Call("factory", ("info",)), Call("fits", ("info",))),
    "objective": (Call("factory"),),
    "optimizer": (Call("factory", ("parameters",), ("lr",)),),
    "metric": (Call("factory"), Call("fits", ("info",))),
    "kernel": (Call("available", params=False), Call("prepare", ("module",), params=False)),
    "family": (Call("factory", ("setup",), params=False), Call("evaluator", ("setup", "state"), params=False)),
    "domain": (Call("factory", ("samples", "data"), params=False),),
    "reporter": (Call("factory", ("view",)), Call("logger", ("out_dir",), params=False)),
    "executor": (Call("factory", ("options",), params=False),),
}


@dataclass
class Mismatch:
    """What keeps a callable from being called the way the core calls it."""

    missing: list[str]  # required arguments nobody passes
    unknown: list[str]  # keywords passed that it does not accept
    positional: str | None = None  # too many positional arguments, or other binding trouble

    def describe(self, call: Call) -> str:
        parts = []
        if self.missing:
            parts.append(f"requires {_names(self.missing)}, which genbench never passes")
        if self.unknown:
            parts.append(f"does not accept {_names(self.unknown)}, which genbench passes")
        if self.positional:
            parts.append(self.positional)
        return f"its {call.attribute} {' and '.join(parts)} (genbench calls {call.form()})"


def _names(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names)


def mismatch(fn: Callable[..., Any], call: Call, params: Mapping[str, Any]) -> Mismatch | None:
    """How `fn` fails to take the core's call, or None when it takes it (or has no signature)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: cannot be checked
        return None
    keywords = [*call.keywords, *(params if call.params else ())]
    try:
        signature.bind(*call.positional, **dict.fromkeys(keywords))
        return None
    except TypeError as exc:
        error = str(exc)
    kinds = inspect.Parameter
    parameters = list(signature.parameters.values())
    slots = [p for p in parameters if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)]
    filled = {p.name for p in slots[:len(call.positional)]}
    accepts_any = any(p.kind is kinds.VAR_KEYWORD for p in parameters)
    named = {p.name for p in parameters if p.kind in (kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY)}
    found = Mismatch(
        missing=[p.name for p in parameters if p.default is p.empty and p.name not in filled
                 and p.name not in keywords and p.kind not in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD)],
        unknown=[] if accepts_any else [k for k in keywords if k not in named],
    )
    if len(call.positional) > len(slots) and not any(p.kind is kinds.VAR_POSITIONAL for p in parameters):
        found.positional = f"takes {len(slots)} positional argument(s), genbench passes {len(call.positional)}"
    elif not (found.missing or found.unknown):
        found.positional = f"cannot be called that way ({error})"
    return found


def check_spec(kind: str, spec, who: str) -> tuple[Any, list[str]]:
    """The spec to register (with deprecated arguments supplied by adapters) and the problems
    that keep its callables from being called as the core calls them."""
    problems = []
    if kind == "metric" and spec.families:
        compat.METRIC_FAMILIES.warn(who, stacklevel=5)
    for call in CALLS.get(kind, ()):
        fn = getattr(spec, call.attribute, None)
        if not callable(fn):
            continue  # absent (optional), or not callable: the registry's shape check says so
        found = mismatch(fn, call, spec.params)
        if found is None:
            continue
        adapters = [compat.FACTORY_ARGUMENTS.get(name) for name in found.missing]
        if (call.attribute == "factory" and found.missing and not found.unknown and not found.positional
                and all(a is not None and kind in a.kinds for a in adapters)):
            for name, adapter in zip(found.missing, adapters, strict=True):
                adapter.deprecation.warn(who, stacklevel=5)  # the plugin's register() call
                fn = adapter.adapt(name, fn)
            spec = replace(spec, factory=fn)
            continue
        fixes = []
        if found.missing:
            fixes.append("give those arguments defaults, or declare them as genbench.Param in the spec's params")
        if found.unknown:
            fixes.append("accept each declared parameter as a keyword argument (or **params), or drop it "
                         "from params")
        if found.positional or not fixes:
            fixes.append(f"take the arguments of {call.form()}")
        problems.append(f"{found.describe(call)}; fix: {'; '.join(fixes)}")
    return spec, problems


def accepts(method: Callable[..., Any], arity: int) -> bool:
    """Whether `method` can be called with `arity` positional arguments."""
    try:
        inspect.signature(method).bind(*range(arity))
    except TypeError:
        return False
    except ValueError:  # no signature to read: assume it can
        return True
    return True


def conform_objective(objective: Any, family, who: str) -> Any:
    """The objective with deprecated method forms adapted (each with its warning); PluginError
    naming every method that does not match the family's contract, and the fix."""
    problems = []
    expected = [(name, arity, True) for name, arity in family.objective_contract.items()]
    expected += [(name, arity, False) for name, arity in family.objective_optional.items()]
    for name, arity, required in expected:
        method = getattr(objective, name, None)
        if method is None:
            if required:
                problems.append(f"it has no {name}(), which the trainer calls with {arity} argument(s)")
            continue
        if not callable(method):
            problems.append(f"its {name} is a {type(method).__name__}, not a method")
        elif not accepts(method, arity):
            adapter = compat.METHODS.get((name, arity))
            if adapter is not None and accepts(method, adapter.old_arity):
                adapter.deprecation.warn(who, stacklevel=4)  # what built the objective
                setattr(objective, name, adapter.adapt(method))
            else:
                problems.append(f"its {name}{_signature(method)} cannot take the {arity} argument(s) the "
                                f"trainer passes")
    if problems:
        raise PluginError(f"{who} does not fit the {family.name!r} family's objective contract: "
                          f"{'; '.join(problems)}; fix: implement the methods as docs/plugin_hooks.md "
                          f"(register_objectives) describes for that family, or upgrade the plugin.")
    return objective


def _signature(method: Callable[..., Any]) -> str:
    try:
        return str(inspect.signature(method))
    except (TypeError, ValueError):
        return "(...)"
