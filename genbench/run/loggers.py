"""Result loggers: reporters that also take each cell's result as the driver records it
(`genbench run --log NAME`), e.g. TensorBoard. A reporter offers one through
ReporterSpec.logger(out_dir) -> ResultLogger; every logger is built, so a missing optional
package is reported, before any cell runs."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from genbench.api.errors import ConfigError, GenbenchError
from genbench.api.registry import Registry
from genbench.api.result import CellResult


class ResultLogger(Protocol):
    def on_result(self, cell, result: CellResult) -> None:
        """Log one finished cell (a genbench.suite.plan.Cell and its CellResult)."""

    def close(self) -> None:
        """Flush and release what the logger holds; called once, after the run."""


def result_loggers(registry: Registry, names: tuple[str, ...] | list[str], out_dir: str | Path) -> list[ResultLogger]:
    """The loggers `--log` names, writing under `out_dir`; ConfigError for a name that is no
    reporter or a reporter that cannot log."""
    can_log = [n for n in registry.names("reporter") if registry.get("reporter", n).logger is not None]
    loggers = []
    for name in dict.fromkeys(names):
        try:
            spec = registry.get("reporter", name)
        except GenbenchError as exc:
            raise ConfigError(f"--log {name}: {exc}") from None
        if spec.logger is None:
            raise ConfigError(f"--log {name}: reporter {name!r} renders a finished store but does not log "
                              f"results as they arrive; fix: use one of {', '.join(can_log) or 'none installed'}")
        loggers.append(spec.logger(Path(out_dir)))
    return loggers
