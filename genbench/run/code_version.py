"""What code a cell ran: the version of every distribution that provided one of its components
(dataset, model, objective, optimizer, kernel backend, family, domain, metrics) and genbench's
own, with a SHA-256 of the source where a version number does not pin the code down.

A cell's code versions map a distribution name to {"version": ..., "source": ...}. `source` is
the hash of the top-level package (or single module) that registered the component: its .py
files sorted by relative path, each path and content hashed (no timestamps). It is given for an
editable install (PEP 610: `direct_url.json` with `dir_info.editable`) and for plugin code that
no distribution installed (keyed by its module name, with version None); otherwise None. The
driver records them with each result, and resume re-runs a finished cell whose recorded code
versions differ from the current ones (genbench.run.resume).

Distribution metadata is looked up robustly: setuptools leaves a `*.egg-info` in a source tree,
and when that tree comes first on sys.path (running from the repository root) importlib.metadata
finds it before the installed `*.dist-info`, with a stale version and no direct_url.json. Where
both exist, the .dist-info (the one an installer wrote: it has METADATA) wins.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import json
import sys
from pathlib import Path
from typing import Any

from genbench.api.axes import AXIS_NAMES
from genbench.suite.plan import Cell
from genbench.api.registry import (
    BUILTIN_DISTRIBUTION,
    BUILTIN_PACKAGE,
    ENTRY_POINT_GROUP,
    NO_DISTRIBUTION,
    Registered,
    Registry,
)

CodeVersions = dict[str, dict[str, Any]]  # distribution (or module) -> {"version", "source"}


def cell_code_versions(cell: Cell, registry: Registry) -> CodeVersions:
    """The code versions of every component `cell` uses, and of genbench, sorted by name."""
    code = {BUILTIN_DISTRIBUTION: distribution_code(BUILTIN_DISTRIBUTION, "genbench")}
    for kind, name in used_components(cell, registry):
        origin = registry.tables[kind].get(name)
        if origin is not None:  # an unknown name fails the cell when it runs, saying why
            key, entry = plugin_code(origin)
            code[key] = entry
    return dict(sorted(code.items()))


def used_components(cell: Cell, registry: Registry) -> list[tuple[str, str]]:
    """(kind, name) of the cell's axis components, metrics, its model's family and its data's
    domain."""
    used = [(axis, cell.component(axis).name) for axis in AXIS_NAMES]
    used += [("metric", metric.name) for metric in cell.metrics]
    model = registry.tables["model"].get(cell.component("model").name)
    if model is not None:
        used.append(("family", model.spec.family))
    dataset = cell.component("dataset")
    origin = registry.tables["dataset"].get(dataset.name)
    if origin is not None:
        try:
            used.append(("domain", origin.spec.data_info(dataset.kwargs()).domain))
        except Exception:  # the cell fails when it runs, with this error
            pass
    return used


def plugin_code(origin: Registered) -> tuple[str, dict[str, Any]]:
    """(key, entry) for the plugin that registered a component: its distribution's version (and
    source hash when editable), or the source hash of a plugin no distribution installed."""
    top = _top_level(_plugin_module(origin))
    if origin.distribution != NO_DISTRIBUTION:
        return origin.distribution, distribution_code(origin.distribution, top)
    return top or origin.plugin, {"version": None, "source": source_hash(top) if top else None}


@functools.cache
def distribution_code(name: str, top: str | None) -> dict[str, Any]:
    """{"version", "source"} of an installed distribution whose code lives in package `top`."""
    dist = find_distribution(name)
    if dist is None:
        return {"version": None, "source": source_hash(top) if top else None}
    editable = is_editable(dist)
    return {"version": dist.version, "source": source_hash(top) if editable and top else None}


def find_distribution(name: str) -> importlib.metadata.Distribution | None:
    """The installed distribution `name`: a *.dist-info over an *.egg-info of the same name
    that comes earlier on sys.path (a source tree's build metadata), else the first found."""
    candidates = list(importlib.metadata.distributions(name=name))
    installed = [d for d in candidates if d.read_text("METADATA") is not None]
    return (installed or candidates or [None])[0]


def is_editable(dist: importlib.metadata.Distribution) -> bool:
    """Whether pip installed `dist` in editable mode (PEP 610 direct_url.json)."""
    try:
        direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        return False
    return isinstance(direct_url, dict) and bool((direct_url.get("dir_info") or {}).get("editable"))


@functools.cache
def source_hash(top: str) -> str | None:
    """SHA-256 over the .py files of package (or module) `top`, sorted by relative path: each
    file's relative path, size and bytes. None when it cannot be imported."""
    try:
        module = importlib.import_module(top)
    except Exception:  # a plugin that fails to import registered nothing
        return None
    digest = hashlib.sha256()
    for relative, path in sorted(_source_files(module).items()):
        content = path.read_bytes()
        digest.update(f"{relative}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def _source_files(module) -> dict[str, Path]:
    """Relative path -> file of every .py file of a package, including subpackages an import
    hook maps to other folders (an editable install's package-dir, e.g. genbench.plugins) once
    imported; a single-module plugin is its own file."""
    if not hasattr(module, "__path__"):
        path = Path(module.__file__)
        return {path.name: path}
    prefix = module.__name__ + "."
    packages = {module.__name__: module}
    packages.update({name: m for name, m in list(sys.modules.items())
                     if name.startswith(prefix) and hasattr(m, "__path__")})
    files: dict[str, Path] = {}
    for name, package in sorted(packages.items()):
        below = Path(*name.split(".")[1:])  # the package's folder relative to the top package
        for directory in package.__path__:
            for path in Path(directory).rglob("*.py"):
                files.setdefault((below / path.relative_to(directory)).as_posix(), path)
    return files


def _plugin_module(origin: Registered) -> str | None:
    """The module a plugin was loaded from: a built-in's own name, else its entry point's."""
    if origin.plugin.startswith(BUILTIN_PACKAGE + "."):
        return origin.plugin
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name=origin.plugin):
        return entry_point.module
    return None


def _top_level(module: str | None) -> str | None:
    return None if module is None else module.split(".")[0]


def describe(entry: dict[str, Any] | None) -> str:
    """'0.2', '0.1 (source 1a2b3c4d)', 'unversioned (source ...)' or '(none)'."""
    if entry is None:
        return "(none)"
    text = entry.get("version") or "unversioned"
    return f"{text} (source {entry['source'][:8]})" if entry.get("source") else text


def code_changes(recorded: CodeVersions, current: CodeVersions) -> list[str]:
    """'<name> <recorded> -> <current>' for each distribution whose code differs."""
    return [f"{key} {describe(recorded.get(key))} -> {describe(current.get(key))}"
            for key in sorted(set(recorded) | set(current)) if recorded.get(key) != current.get(key)]
