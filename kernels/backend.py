"""The active kernel backend: which op table the ops of genbench.kernels dispatch to.

A Backend is a name, an op table (op name -> implementation taking the reference's positional
arguments) and an optional `prepare` for each network. `with use(backend) as usage:` makes it
active; an op it lacks runs the reference, and `usage.ops` records where each op ran. Outside
any use() every op runs the reference. `op(name)` turns a reference function into such an op.

The active backend lives in a module-level holder, not a ContextVar: torch.compile cannot trace
ContextVar.get (a graph break; an error under fullgraph=True), while it reads a global object's
attributes and guards on them, so a compiled network dispatches without a graph break. The price:
the holder is per process, not per thread. genbench runs one cell at a time per process, inside
one use(); do not enter use() from several threads at once.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

REFERENCE = "reference"  # what Usage records for an op the active backend does not provide


@dataclass(frozen=True)
class Backend:
    """A kernel backend: op name -> implementation, and what to apply to each network."""

    name: str
    ops: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    prepare: Callable[[nn.Module], nn.Module] | None = None


class _Called:
    """Whether one op was called since the innermost use() began. One object per op, set by
    attribute, because dynamo guards on a dict's contents once traced code writes to it: a
    compiled network recording its calls in a dict would recompile as the dict changes."""

    def __init__(self):
        self.value = False


_CALLED: dict[str, _Called] = {}  # op name -> its flag, for every op op() has made


class Usage:
    """Where each op called under one use() ran: `ops` maps op name -> backend name, or
    "reference" for an op the backend lacks (read live inside the block, kept after it)."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self._ops: dict[str, str] | None = None  # set when the block ends

    @property
    def ops(self) -> dict[str, str]:
        if self._ops is not None:
            return dict(self._ops)
        return {name: self.backend.name if name in self.backend.ops else REFERENCE
                for name, called in _CALLED.items() if called.value}


class _Active:
    """The active backend (None outside any use())."""

    backend: Backend | None = None


_active = _Active()


@contextlib.contextmanager
def use(backend: Backend) -> Iterator[Usage]:
    """Run the ops with `backend` inside the block; nestable, the previous one returns on exit."""
    saved_backend, saved_calls = _active.backend, {name: c.value for name, c in _CALLED.items()}
    usage = Usage(backend)
    _active.backend = backend
    for called in _CALLED.values():
        called.value = False
    try:
        yield usage
    finally:
        usage._ops = usage.ops
        _active.backend = saved_backend
        for name, called in _CALLED.items():
            called.value = saved_calls.get(name, False)


def current() -> Backend | None:
    """The active backend, or None outside any use()."""
    return _active.backend


def prepare(module: nn.Module) -> nn.Module:
    """The active backend's prepare(module) (e.g. torch.compile), or the module itself."""
    backend = _active.backend
    if backend is None or backend.prepare is None:
        return module
    return backend.prepare(module)


def op(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: the reference function becomes the op `name`, which calls the active backend's
    ops[name] with the same arguments when the backend has one, else the reference."""

    called = _CALLED.setdefault(name, _Called())

    def decorate(reference: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(reference)
        def dispatch(*args, **kwargs):
            backend = _active.backend
            if backend is None:
                return reference(*args, **kwargs)
            called.value = True
            impl = backend.ops.get(name)
            return (reference if impl is None else impl)(*args, **kwargs)

        return dispatch

    return decorate
