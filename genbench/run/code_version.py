"""What code a cell ran: the version of every distribution that provided one of its components
(dataset, model, objective, optimizer, kernel backend, family, domain, metrics) and genbench's
own, with the hashes of the source files it ran where a version number does not pin them down.

A cell's code versions map a distribution name to an entry. An installed distribution's entry
is {"version": ..., "source": None}: the version pins the code. An editable install (PEP 610:
`direct_url.json` with `dir_info.editable`), and plugin code no distribution installed (keyed by
its top-level module, version None), also records the source the cell's components run:
`modules` maps each such module to the SHA-256 of its file (16 hex digits), `source` hashes that
map and `package` names the top-level package. A component runs the modules that define its
callables (factory, trainer, ops, ...) with every module they import from their own package,
transitively (read statically: genbench.run.sources), and the module that registered it. A
built-in's modules are those of genbench.plugins, and a plugin's imports of genbench.plugins
count under genbench; genbench's core (everything outside genbench.plugins) runs every cell and
is one module, `core`, of genbench's entry. So editing one module re-runs only the cells whose
components run it (genbench.run.resume); the others stay.

An entry recorded by an older genbench hashed the whole package (`source`, no `modules`): it is
compared with the whole package's hash today, so such a cell re-runs once when anything in its
package changed since, and stays otherwise.

Distribution metadata is looked up robustly: setuptools leaves a `*.egg-info` in a source tree,
and when that tree comes first on sys.path (running from the repository root) importlib.metadata
finds it before the installed `*.dist-info`, with a stale version and no direct_url.json. Where
both exist, the .dist-info (the one an installer wrote: it has METADATA) wins.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import importlib.metadata
import inspect
import json
import sys
from collections.abc import Iterable, Mapping
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
from genbench.run.sources import HASH_CHARS, Sources

CodeVersions = dict[str, dict[str, Any]]  # distribution (or module) -> {"version", "source", ...}
CORE = "core"  # genbench's modules outside genbench.plugins, hashed as one


def code_versions(cells: Iterable[Cell], registry: Registry) -> dict[str, CodeVersions]:
    """cell_id -> the code versions of each cell, the source read once for them all."""
    reader = CodeReader()
    return {cell.cell_id: reader.cell(cell, registry) for cell in cells}


def cell_code_versions(cell: Cell, registry: Registry) -> CodeVersions:
    """The code versions of every component `cell` uses, and of genbench, sorted by name."""
    return CodeReader().cell(cell, registry)


class CodeReader:
    """One run's reading of code versions: each distribution looked up, each file read once."""

    def __init__(self) -> None:
        self.sources = Sources()
        self._distributions: dict[str, tuple[str, bool] | None] = {}  # name -> (version, editable)
        self._components: dict[tuple[int, str | None], dict[str, str]] = {}  # (id(origin), package) -> modules
        self._packages: dict[tuple[str, str], str | None] = {}

    def cell(self, cell: Cell, registry: Registry) -> CodeVersions:
        """The code versions of every component `cell` uses, and of genbench, sorted by name."""
        owners = {BUILTIN_DISTRIBUTION: (BUILTIN_DISTRIBUTION, "genbench")}  # key -> (distribution, top)
        modules: dict[str, dict[str, str]] = {BUILTIN_DISTRIBUTION: {CORE: self.package("genbench", "plugins/")}}
        for kind, name in used_components(cell, registry):
            origin = registry.tables[kind].get(name)
            if origin is None:  # an unknown name fails the cell when it runs, saying why
                continue
            top = _top_level(_plugin_module(origin))
            builtin = origin.distribution == BUILTIN_DISTRIBUTION
            key = origin.distribution if origin.distribution != NO_DISTRIBUTION else top or origin.plugin
            owners.setdefault(key, (None if origin.distribution == NO_DISTRIBUTION else key, top))
            for module, digest in self.component_modules(origin, None if builtin else top).items():
                owner = BUILTIN_DISTRIBUTION if _inside(module, BUILTIN_PACKAGE) else key
                modules.setdefault(owner, {})[module] = digest
        return {key: self.entry(dist, top, modules.get(key, {})) for key, (dist, top) in sorted(owners.items())}

    def component_modules(self, origin: Registered, package: str | None) -> dict[str, str]:
        """module -> file hash of the modules a component runs, within genbench.plugins and
        `package` (its plugin's top-level package): those defining its callables, what they
        import there, transitively, and the module that registered it (that file alone)."""
        key = (id(origin), package)  # the registry's entries live as long as the run
        if key not in self._components:
            self._components[key] = self._component_modules(origin, package)
        return self._components[key]

    def _component_modules(self, origin: Registered, package: str | None) -> dict[str, str]:
        def within(name: str) -> bool:
            return _inside(name, BUILTIN_PACKAGE) or (package is not None and _inside(name, package))

        found: dict[str, str] = {}
        for module in _defining_modules(origin.spec):
            found.update(self.sources.closure(module, within))
        registering = _plugin_module(origin)
        read = self.sources.module(registering) if registering and within(registering) else None
        if read is not None:
            found[registering] = read.digest
        return found

    def entry(self, distribution: str | None, top: str | None, modules: dict[str, str]) -> dict[str, Any]:
        """The entry of one distribution (None: plugin code no distribution installed)."""
        found = self.distribution(distribution) if distribution else None
        version, editable = found or (None, True)
        if not editable or not modules:
            return {"version": version, "source": None}
        modules = dict(sorted(modules.items()))
        return {"version": version, "source": _map_hash(modules), "package": top, "modules": modules}

    def distribution(self, name: str) -> tuple[str, bool] | None:
        """(version, editable) of the installed distribution `name`, None if none is."""
        if name not in self._distributions:
            dist = find_distribution(name)
            self._distributions[name] = None if dist is None else (dist.version, is_editable(dist))
        return self._distributions[name]

    def package(self, top: str, skip: str = "") -> str | None:
        """The hash of package `top`'s source (source_hash), leaving out paths under `skip`."""
        if (top, skip) not in self._packages:
            digest = source_hash(top, skip)
            self._packages[top, skip] = digest[:HASH_CHARS] if digest and skip else digest
        return self._packages[top, skip]

    def same(self, recorded: dict[str, Any] | None, current: dict[str, Any] | None) -> bool:
        """Whether a recorded entry and a current one stand for the same code: equal, or an older
        genbench's hash of the whole package that matches the package as it is now."""
        if recorded == current:
            return True
        if recorded is None or current is None or not _whole_package(recorded, current):
            return False
        return (recorded.get("version") == current.get("version")
                and recorded["source"] == self.package(current["package"]))


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


def source_hash(top: str, skip: str = "") -> str | None:
    """SHA-256 over the .py files of package (or module) `top`, sorted by relative path (those
    under `skip` left out): each file's relative path, size and bytes. None when it cannot be
    imported."""
    try:
        module = importlib.import_module(top)
    except Exception:  # a plugin that fails to import registered nothing
        return None
    digest = hashlib.sha256()
    for relative, path in sorted(_source_files(module).items()):
        if skip and relative.startswith(skip):
            continue
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


def _defining_modules(spec) -> list[str]:
    """The modules that define a spec's callables (factory, trainer, ops, ...), wrappers unwrapped."""
    found = []
    for field in dataclasses.fields(spec):
        value = getattr(spec, field.name)
        for item in value.values() if isinstance(value, Mapping) else [value]:
            if callable(item):
                item = inspect.unwrap(item.func if isinstance(item, functools.partial) else item)
                module = getattr(item, "__module__", None) or type(item).__module__
                found.append(module)
    return list(dict.fromkeys(found))


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _map_hash(modules: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(modules, sort_keys=True).encode()).hexdigest()


def describe(entry: dict[str, Any] | None) -> str:
    """'0.2', '0.1 (source 1a2b3c4d)', 'unversioned (source ...)' or '(none)'."""
    if entry is None:
        return "(none)"
    text = entry.get("version") or "unversioned"
    return f"{text} (source {entry['source'][:8]})" if entry.get("source") else text


def code_changes(recorded: CodeVersions, current: CodeVersions, reader: CodeReader | None = None) -> list[str]:
    """What differs, per distribution: '<name> <version>: <module>, ... changed' where the same
    version's modules differ, else '<name> <recorded> -> <current>' (`reader`: this run's)."""
    reader = reader or CodeReader()
    return [_change(key, recorded.get(key), current.get(key)) for key in sorted(set(recorded) | set(current))
            if not reader.same(recorded.get(key), current.get(key))]


def _change(key: str, recorded: dict[str, Any] | None, current: dict[str, Any] | None) -> str:
    if recorded and current and recorded.get("version") == current.get("version") \
            and "modules" in recorded and "modules" in current:
        before, now = recorded["modules"], current["modules"]
        changed = sorted(m for m in set(before) | set(now) if before.get(m) != now.get(m))
        return f"{key} {recorded.get('version') or 'unversioned'}: {', '.join(changed)} changed"
    text = f"{key} {describe(recorded)} -> {describe(current)}"
    if recorded and current and _whole_package(recorded, current):
        text += " (the whole package's hash, recorded by an older genbench)"
    return text


def _whole_package(recorded: dict[str, Any], current: dict[str, Any]) -> bool:
    """Whether `recorded` is an older genbench's hash of a package `current` hashes per module."""
    return "modules" not in recorded and bool(recorded.get("source")) and bool(current.get("package"))


def summarize(records: Iterable[CodeVersions]) -> list[tuple[str, str]]:
    """(distribution, '<version> (n cells), ...') over the cells' code versions, so mixed code
    shows: an editable install's source as one hash over the modules its cells ran, or the
    modules whose source differs between those cells."""
    groups: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = {}
    for record in records:
        for name, entry in record.items():
            version = entry.get("version") or "unversioned"
            whole = "" if "modules" in entry else entry.get("source") or ""  # an older genbench's
            groups.setdefault(name, {}).setdefault((version, whole), []).append(entry)
    return [(name, ", ".join(f"{version}{_source_text(whole, entries)} ({len(entries)} cells)"
                             for (version, whole), entries in sorted(versions.items())))
            for name, versions in sorted(groups.items())]


def _source_text(whole: str, entries: list[dict[str, Any]]) -> str:
    if whole:
        return f" (source {whole[:8]})"
    merged: dict[str, set[str]] = {}
    for entry in entries:
        for module, digest in entry.get("modules", {}).items():
            merged.setdefault(module, set()).add(digest)
    if not merged:
        return ""
    mixed = sorted(module for module, digests in merged.items() if len(digests) > 1)
    if mixed:
        return f" (source differs between cells: {', '.join(mixed)})"
    return f" (source {_map_hash({m: d.pop() for m, d in merged.items()})[:8]})"
