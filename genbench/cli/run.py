"""`genbench run`: its flags, parsed into a RunRequest that a RunSession carries out."""

from __future__ import annotations

import sys

import click

from genbench.api.errors import ConfigError
from genbench.cli.console import DEFAULT_OUT, screen
from genbench.run.checkpoints import RETENTION
from genbench.run.session import RunRequest, RunSession
from genbench.suite import limits, overrides
from genbench.suite.config import MAX_CELLS


def _parse_flag(flag: str, text: str | None, parse, expected: str):
    if text is None:
        return None
    try:
        return parse(text)
    except ValueError as exc:
        raise ConfigError(f"{flag}: {exc}; fix: give {expected}") from None


def _executor_options(texts: tuple[str, ...], scheduler: str | None) -> tuple[tuple[str, object], ...]:
    """--executor-opt KEY=VALUE (VALUE a TOML value, or a bare word: a string), then --scheduler."""
    options = []
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--executor-opt {text!r}: expected KEY=VALUE; fix: e.g. --executor-opt cores=4 "
                              f"(`genbench list --kind executor --params` lists each executor's options)")
        options.append((key.strip(), overrides.value(value.strip())))
    if scheduler is not None:
        options.append(("scheduler", scheduler))
    return tuple(options)


@click.command("run")
@click.argument("suite", default="quick")
@click.option("--out", "out_dir", default=DEFAULT_OUT, show_default=True, type=click.Path(file_okay=False),
              help="Results directory (created if needed; re-running resumes).")
@click.option("--workers", type=click.IntRange(min=1),
              help="Run N cells at once (default: one per free core, at most one per cell).")
@click.option("--executor", "executor_name",
              help="How cells run: a registered executor (`genbench list --kind executor`). The default "
                   "isolates each cell in a worker process and enforces the limits; others run cells in this "
                   "process (for debugging: no isolation, no limits) or on a cluster (docs/cluster.md).")
@click.option("--executor-opt", "executor_opts", multiple=True, metavar="KEY=VALUE",
              help="An option of the executor, checked against its parameters (`genbench list --kind executor "
                   "--params`), e.g. a cluster job's cores=4; wins over the suite's [executor] table. Repeatable.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Short for --executor-opt scheduler=ADDRESS: the scheduler of a running cluster, for an "
                   "executor that takes one, e.g. tcp://host:8786 (default: it starts a cluster on this machine).")
@click.option("--only", "patterns", multiple=True,
              help="Only cells whose path (axis labels and seedN, joined by /) contains this "
                   "(or matches it as a glob). Repeatable.")
@click.option("--threads", type=click.IntRange(min=1),
              help="torch intra-op threads per worker (default: 1, or the free cores the cells "
                   "leave idle, shared among the workers).")
@click.option("--timeout", "timeout_text", metavar="DURATION",
              help="Fail a cell that runs longer than this: seconds, or e.g. 90s, 30m, 2h (default: the "
                   "suite's [train] timeout, else 12h).")
@click.option("--max-memory", "max_memory_text", metavar="SIZE",
              help="Fail a cell whose worker holds more memory than this: MiB, or e.g. 512MiB, 4GiB (default: "
                   "the suite's [train] max_memory, else 80% of physical memory / workers).")
@click.option("--dry-run", is_flag=True, help="Validate and list the cells, the CPU policy and the limits; "
              "run nothing.")
@click.option("--wait", is_flag=True, help="If another run is writing to --out, wait for it to finish "
              "instead of stopping (one run writes to a results folder at a time).")
@click.option("--reuse-stale", is_flag=True, help="Keep finished cells computed with other plugin code "
              "(another version, or changed source of an editable install) instead of re-running them.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override a suite setting, validated like the file: a dotted key and a TOML value, e.g. "
                   "--set train.steps=500 --set eval.every=250 (matrix.0.train.lr=1e-3 for the first "
                   "[[matrix]] block). Repeatable.")
@click.option("--log", "log_names", multiple=True, metavar="NAME",
              help="Also log each cell's results as it finishes through this reporter, one that can log "
                   "(`genbench list --kind reporter`; e.g. TensorBoard's, into a folder of OUT). Repeatable.")
@click.option("--checkpoints", "retention", type=click.Choice(RETENTION), default="last", show_default=True,
              help="Checkpoints written at each eval step to OUT/checkpoints (an interrupted cell resumes "
                   "from its newest; `genbench rescore` reads a finished cell's): keep the last of each "
                   "cell, all of them, or none (and resume nothing from them).")
@click.option("--max-cells", type=click.IntRange(min=1), default=MAX_CELLS, show_default=True,
              help="Refuse a suite that plans more cells than this (checked before any cell is made).")
@click.option("--out-exists-ok", is_flag=True, help="Write into an --out folder that holds other files and "
              "no genbench store (refused by default, so results never mix with someone else's files).")
def command(suite: str, out_dir: str, workers: int | None, executor_name: str | None,
            executor_opts: tuple[str, ...], scheduler: str | None, patterns: tuple[str, ...], threads: int | None,
            timeout_text: str | None, max_memory_text: str | None, dry_run: bool, wait: bool, reuse_stale: bool,
            settings: tuple[str, ...], log_names: tuple[str, ...], retention: str, max_cells: int,
            out_exists_ok: bool) -> None:
    """Run SUITE (a .toml file or a built-in suite name; default: quick)."""
    request = RunRequest(
        suite, out_dir, settings, patterns, executor_name, _executor_options(executor_opts, scheduler),
        workers, threads,
        _parse_flag("--timeout", timeout_text, limits.parse_timeout, limits.TIMEOUT_HELP),
        _parse_flag("--max-memory", max_memory_text, limits.parse_memory, limits.MEMORY_HELP),
        wait, reuse_stale, log_names, retention, out_exists_ok, max_cells)
    session = RunSession(request, screen)
    if dry_run:
        session.dry_run()
        return
    if session.run().count("failed"):
        sys.exit(1)
