"""The built-in suites as `genbench list --kind suite` shows them: name, description, how long
each takes (its `expected`, measured or estimated) and how many cells it plans to on this
machine (a suite naming every usable kernel backend, `kernels = "*"`, plans more cells where
more backends run)."""

from __future__ import annotations

from dataclasses import dataclass

from . import config, plan
from .file import parse
from genbench.api.errors import GenbenchError
from genbench.api.registry import Registry


@dataclass(frozen=True)
class SuiteInfo:
    name: str
    description: str
    cells: int | None  # None when the suite cannot be planned here
    problem: str | None = None  # why not
    expected: str = ""  # how long it takes, as the suite file says


def builtin_suite_infos(registry: Registry) -> list[SuiteInfo]:
    infos = []
    for name, path in sorted(config.builtin_suites().items()):
        try:
            suite = config.load(str(path), registry)
        except GenbenchError as exc:  # e.g. its data is not on this machine: what the file says, and why
            table = parse(path).get("suite", {})
            infos.append(SuiteInfo(name, str(table.get("description", "")), None, str(exc),
                                   str(table.get("expected", ""))))
            continue
        infos.append(SuiteInfo(name, suite.description, len(plan.expand(suite, registry)), None, suite.expected))
    return infos
