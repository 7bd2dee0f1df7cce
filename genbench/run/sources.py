"""The source a component runs: the module that defines it and the modules it imports, read
statically (each file's `import` statements, found with `ast`, wherever they stand, lazy imports
in functions included) and followed transitively within the packages a caller names.

Nothing is imported to find a module: a name resolves to the file `sys.modules` holds for it, or
else through its parent package's folders (importlib's PathFinder), so an import that names an
attribute (`from pkg.mod import thing`) resolves to `pkg.mod`. A `Sources` reads each file once;
make one per run, so that an edit between two runs of one process is seen.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.machinery
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HASH_CHARS = 16  # of a file's SHA-256: 64 bits tell an edit apart


@dataclass(frozen=True)
class Module:
    """One module's file as read: its hash and what it imports as (base, name) pairs: `from base
    import name` may import module `base.name` or an attribute of `base`; `import base` has None."""

    digest: str
    imports: tuple[tuple[str, str | None], ...]


class Sources:
    """One run's reading of module files: hashes and import graphs, each file read once."""

    def __init__(self) -> None:
        self._modules: dict[str, Module | None] = {}
        self._specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def closure(self, module: str, within: Callable[[str], bool]) -> dict[str, str]:
        """module name -> file hash of `module` and of every module it imports, transitively,
        that `within(name)` accepts ({} when `module` itself is not accepted or has no source)."""
        found: dict[str, str] = {}
        todo = [module]
        while todo:
            name = todo.pop()
            if name in found or not within(name):
                continue
            read = self.module(name)
            if read is None:
                continue
            found[name] = read.digest
            for base, attribute in read.imports:
                if within(base):
                    submodule = f"{base}.{attribute}" if attribute else None
                    todo.append(submodule if submodule and self.spec(submodule) else base)
        return found

    def module(self, name: str) -> Module | None:
        """The file of module `name`, read and parsed (None: no Python source file)."""
        if name not in self._modules:
            spec = self.spec(name)
            origin = spec.origin if spec is not None and spec.has_location else None
            self._modules[name] = None if not origin or not origin.endswith(".py") else _read(
                Path(origin), name, bool(spec.submodule_search_locations))
        return self._modules[name]

    def spec(self, name: str) -> importlib.machinery.ModuleSpec | None:
        """Where module `name` is: its spec in sys.modules, else found in its parent's folders."""
        if name not in self._specs:
            self._specs[name] = self._find(name)
        return self._specs[name]

    def _find(self, name: str) -> importlib.machinery.ModuleSpec | None:
        loaded = getattr(sys.modules.get(name), "__spec__", None)
        if loaded is not None:
            return loaded
        parent = name.rpartition(".")[0]
        try:
            if not parent:
                return importlib.machinery.PathFinder.find_spec(name)
            above = self.spec(parent)
            folders = above.submodule_search_locations if above is not None else None
            return importlib.machinery.PathFinder.find_spec(name, list(folders)) if folders else None
        except (ImportError, ValueError):  # a malformed name or a broken finder: not found
            return None


def _read(path: Path, name: str, is_package: bool) -> Module | None:
    try:
        content = path.read_bytes()
    except OSError:
        return None
    digest = hashlib.sha256(content).hexdigest()[:HASH_CHARS]
    try:
        tree = ast.parse(content)
    except (SyntaxError, ValueError):  # it fails to import too; its hash still tells an edit
        return Module(digest, ())
    package = name if is_package else name.rpartition(".")[0]
    return Module(digest, tuple(_imports(tree, package)))


def _imports(tree: ast.AST, package: str):
    """(base, name) of every import statement in `tree`, relative ones resolved against `package`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                if node.level - 1 >= len(parts):
                    continue  # beyond the top-level package: fails to import anyway
                above = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{above}.{base}" if base else above
            yield from ((base, None if alias.name == "*" else alias.name) for alias in node.names)
