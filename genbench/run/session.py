"""Sessions: what `genbench run` and `genbench rescore` do once their arguments are parsed.

RunSession(request, screen) loads the plugins and the suite and checks everything before any
work: the suite, the executor and its options, the cells `--only` selects. `dry_run()` lists the
cells with the CPU policy and limits they would get. `run()` holds the results folder's lock (one
writer at a time) with the store open, records the suite, finds the cells still to run (resume,
stale code), chooses the CPU policy and the per-cell limits, prepares the checkpoints, runs the
pending cells through the executor with progress (bars on a terminal, a line per finished cell
elsewhere: genbench.run.progress) and the `--log` loggers, then reports the
failures and prints the summary table. `rescore(request, screen)` scores finished cells with
another metric (genbench.run.rescore) under the same lock and store. Everything a session says
goes to a Screen: the command's two consoles.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape

from genbench.api.errors import ConfigError, GenbenchError
from genbench.api.layout import Column, Layout
from genbench.api.registry import load_plugins
from genbench.api.result import error_headline
from genbench.results.files import check_out_dir
from genbench.results.render import reporter_text
from genbench.results.store import SCHEMA_VERSION, Store
from genbench.results.model import ReportView
from genbench.run import cpu_policy
from genbench.run import rescore as rescore_module
from genbench.run.checkpoints import Checkpoints
from genbench.run.code_version import code_versions
from genbench.run.executors import ExecutorOptions
from genbench.run.lock import StoreLock
from genbench.run.loggers import result_loggers
from genbench.run.progress import SuiteProgress
from genbench.run.resume import Pending, pending_cells
from genbench.run.runner import SuiteOutcome, run_suite
from genbench.run.signals import stop_on_signals
from genbench.suite import config, plan
from genbench.suite import limits as limits_module
from genbench.suite.executor_options import executor_params


@dataclass(frozen=True)
class Screen:
    """Where a session writes: `out` (progress, tables, what it did), `err` (failures, waiting)."""

    out: Console
    err: Console

    def say(self, text: str) -> None:
        """A line of plain text (no markup read into it) on `out`."""
        self.out.print(text, markup=False, highlight=False)


@dataclass(frozen=True)
class RunRequest:
    """What `genbench run` was asked for; the command line has parsed each flag's form."""

    suite: str  # a .toml file or a built-in suite's name
    out_dir: str
    settings: tuple[str, ...] = ()  # --set KEY=VALUE
    patterns: tuple[str, ...] = ()  # --only
    executor: str | None = None  # None: the registered default executor
    executor_options: tuple[tuple[str, Any], ...] = ()  # --executor-opt KEY=VALUE (and --scheduler)
    workers: int | None = None
    threads: int | None = None
    timeout_s: float | None = None  # --timeout; None: the suite's, else the default
    max_memory_bytes: int | None = None  # --max-memory
    wait: bool = False  # queue behind another run writing to out_dir
    reuse_stale: bool = False
    log_names: tuple[str, ...] = ()  # --log
    retention: str = "last"  # checkpoints kept: last, all or none
    out_exists_ok: bool = False  # write into an --out folder of other files without a store
    max_cells: int = config.MAX_CELLS  # --max-cells: refuse a suite that plans more


@contextmanager
def writing(out_dir: str, wait: bool, screen: Screen, after_wait: str = "") -> Iterator[Store]:
    """The store of `out_dir` open for writing, under its lock (one writer at a time: with
    `wait`, queue behind the run holding it, else stop); a store migrated from an older schema
    says where its backup is."""

    def waiting(holder: str) -> None:
        screen.err.print(f"waiting: {escape(out_dir)} is being written by another genbench run ({holder})"
                         f"{after_wait}", highlight=False)

    with StoreLock(out_dir).hold(wait=wait, on_wait=waiting):
        store = Store(out_dir)
        try:
            if store.backup is not None:
                screen.say(f"migrated {store.path} from store schema {store.migrated_from} to {SCHEMA_VERSION}; "
                           f"backup of the original at {store.backup}")
            yield store
        finally:
            store.close()


def reading(out_dir: str, suite: str | None, screen: Screen, registry=None) -> ReportView:
    """A view of the store of `out_dir` for reading (an older schema is migrated in memory, with a
    note), of one suite or all; GenbenchError for a suite the store does not hold. `registry`
    gives the directions of values an older store did not record."""
    store = Store(out_dir, create=False)
    if store.migrated_from is not None:
        screen.err.print(f"note: {store.path} is a store of schema {store.migrated_from}; read through an "
                         f"in-memory migration to schema {SCHEMA_VERSION} (the file is unchanged; `genbench run` "
                         f"on it migrates it, keeping a backup).", markup=False, highlight=False)
    suites = store.suites()
    if suite is not None and suite not in suites:
        raise GenbenchError(f"no suite {suite!r} in {store.path}; it holds: {', '.join(suites) or 'none'}")
    return ReportView(store, suite, screen.out.width, registry, not screen.out.is_terminal)


class RunSession:
    """One `genbench run`: everything checked and planned on construction, before any work."""

    def __init__(self, request: RunRequest, screen: Screen):
        self.request, self.screen = request, screen
        check_out_dir(request.out_dir, request.out_exists_ok)
        self.registry = load_plugins()
        self.suite = config.load(request.suite, self.registry, request.settings, request.max_cells)
        self.executor_name = request.executor or self.registry.default("executor")
        try:
            self.executor_spec = self.registry.get("executor", self.executor_name)
        except GenbenchError as exc:
            raise ConfigError(f"--executor: {exc}") from None
        self.executor_params, notice = executor_params(
            self.executor_spec, self.suite.executor, self.suite.executor_table, self.suite.path,
            request.executor_options)
        if notice:
            screen.say(notice)
        self.cells = plan.select(plan.expand(self.suite, self.registry), request.patterns)
        if not self.cells:
            raise GenbenchError(f"--only {' '.join(request.patterns)!r} matches no cell of suite "
                                f"{self.suite.name!r}; fix: run with --dry-run to see the cell paths.")

    def limits(self, workers: int) -> tuple[limits_module.CellLimits, str]:
        """The per-cell limits for `workers` at once, and a line saying where each came from."""
        flags = {"timeout": self.request.timeout_s, "max_memory": self.request.max_memory_bytes}
        limits, sources = limits_module.resolve(flags, dict(self.suite.limits), workers)
        text = (f"limits per cell: timeout {limits_module.format_duration(limits.timeout_s)} ({sources['timeout']}), "
                f"max_memory {limits_module.format_bytes(limits.max_memory_bytes)} ({sources['max_memory']})")
        if not self.executor_spec.enforces_limits:
            text += (f"; not enforced by the {self.executor_name} executor (use --executor "
                     f"{self.registry.default('executor')})")
        return limits, text

    def dry_run(self) -> None:
        """List the cells, the CPU policy and the limits; run nothing."""
        layout = Layout.of(self.screen.out)
        policy = cpu_policy.choose(len(self.cells), self.request.workers, self.request.threads)
        text = layout.table([Column("cell id"), Column("path")], [[c.cell_id, c.path] for c in self.cells])
        text += layout.sentence(f"{len(self.cells)} cells; CPU: {policy.describe()}")
        self.screen.out.print(text + layout.sentence(self.limits(policy.workers)[1]), markup=False, highlight=False,
                              soft_wrap=True, end="")

    def run(self) -> SuiteOutcome:
        """Run the cells the store does not hold yet, then print the failures and the summary."""
        request, out = self.request, self.screen.out
        loggers = result_loggers(self.registry, request.log_names, request.out_dir)
        try:
            with stop_on_signals(), writing(request.out_dir, request.wait, self.screen,
                                            "; this run starts when it finishes.") as store:
                store.record_suite(self.suite.name, self.suite.path, self.suite.description, self.cells,
                                   request.settings)
                out.print(f"suite [bold]{escape(self.suite.name)}[/]: {len(self.cells)} cells -> "
                          f"{escape(str(store.path))}")
                code = code_versions(self.cells, self.registry)
                pending = pending_cells(self.cells, store, code, request.reuse_stale)
                for notice in pending.notices():
                    self.screen.say(notice)
                outcome = self._execute(store, pending, code, loggers)
                if outcome.skipped:
                    out.print(f"skipped {outcome.skipped} cells already in the store")
                self._print_failures(outcome)
                text = reporter_text(self.registry, self.registry.default("reporter", "terminal"),
                                     ReportView(store, self.suite.name, out.width, piped=not out.is_terminal),
                                     format="terminal" if out.is_terminal else "plain")
                out.print(text, highlight=False, markup=False, soft_wrap=True, end="")
        finally:
            for logger in loggers:
                logger.close()
        return outcome

    def _execute(self, store: Store, pending: Pending, code: dict, loggers) -> SuiteOutcome:
        """The pending cells through the executor (its progress events drive the bars); each result
        goes to the progress and the `loggers` as it arrives."""
        request = self.request
        policy = cpu_policy.choose(len(pending.run), request.workers, request.threads)
        limits, limits_text = self.limits(policy.workers)
        self.screen.say(f"CPU: {policy.describe()}; {limits_text}")
        checkpoints = None if request.retention == "none" else Checkpoints.of_results(request.out_dir,
                                                                                     request.retention)
        if checkpoints is not None and not request.reuse_stale:
            for cell_id in pending.stale:  # re-run from step 0: their checkpoints are of the old code
                checkpoints.discard(cell_id)
        labels = {cell.cell_id: cell.path for cell in self.cells}

        def finished(cell, result) -> None:
            bars.cell_finished(cell.cell_id, result.status, result.wall_time_s)
            for logger in loggers:
                logger.on_result(cell, result)

        with SuiteProgress(self.screen.out, len(self.cells), labels) as bars:
            bars.skipped(len(self.cells) - len(pending.run))
            options = ExecutorOptions(self.registry, policy.workers, policy.threads, bars.update, limits,
                                      checkpoints)
            executor = self.executor_spec.factory(options, **self.executor_params)
            try:
                outcome = run_suite(self.cells, store, executor, finished, code, pending,
                                    {"cpu_policy": policy.record()})
            except BaseException:  # a stop signal, or a store that cannot be written (disk full): kill the workers
                executor.shutdown(cancel=True)
                raise
            executor.shutdown()
        return outcome

    def _print_failures(self, outcome: SuiteOutcome) -> None:
        paths = {cell.cell_id: cell.path for cell in self.cells}
        for result in outcome.results:
            if result.status == "failed":
                self.screen.err.print(f"[bold red]failed:[/] {escape(paths[result.cell_id])}: "
                                      f"{escape(error_headline(result.error))}", highlight=False)
            elif result.status == "diverged":
                self.screen.err.print(f"[yellow]diverged:[/] {paths[result.cell_id]}: {result.error}",
                                      highlight=False)


@dataclass(frozen=True)
class RescoreRequest:
    """What `genbench rescore` was asked for."""

    out_dir: str
    metric: str  # a metric name or an inline TOML table (genbench.run.rescore.parse_metric)
    suite: str | None = None  # only this suite's cells
    patterns: tuple[str, ...] = ()  # --only
    overwrite: bool = False  # --replace
    wait: bool = False


def rescore(request: RescoreRequest, screen: Screen) -> int:
    """Score the selected finished cells with the metric from their final checkpoints and add
    the values to the store; returns how many cells failed (the others are still scored)."""
    check_out_dir(request.out_dir)  # it holds a store (checked next): only a link is refused here
    registry = load_plugins()
    metric = rescore_module.parse_metric(request.metric, registry)
    checkpoints = Checkpoints.of_results(request.out_dir)
    reader = reading(request.out_dir, request.suite, screen).store
    try:
        selected = [(stored, rescore_module.stored_cell(stored, request.suite or "", registry))
                    for stored in reader.cells(request.suite)]
        if request.patterns:
            chosen = {c.cell_id for c in plan.select([c for _, c in selected if c is not None], request.patterns)}
            selected = [(s, c) for s, c in selected if c is not None and c.cell_id in chosen]
        existing = {s.cell_id: {(r["step"], r["name"]) for r in reader.metrics(s.cell_id)} for s, _ in selected}
    finally:
        reader.close()
    todo = rescore_module.plan_rescore(selected, metric, registry, checkpoints, existing, request.overwrite)
    for where, reason in todo.skipped:
        screen.err.print(f"[yellow]skipped:[/] {escape(where)}: {escape(reason)}", highlight=False)
    failed = 0
    with writing(request.out_dir, request.wait, screen, ".") as store:
        for cell in todo.todo:
            try:
                rows = rescore_module.rescore_cell(cell, metric, registry, checkpoints)
                store.add_metrics(cell.cell_id, rows, request.overwrite)
            except Exception as exc:  # one cell's failure is reported; the others are still scored
                failed += 1
                screen.err.print(f"[bold red]failed:[/] {escape(cell.path)}: {escape(str(exc))}", highlight=False)
                continue
            values = ", ".join(f"{r.name} = {r.value:.6g}" for r in rows)
            screen.out.print(f"rescored {escape(cell.path)} at step {cell.eval_steps[-1]}: {escape(values)}",
                             highlight=False)
    screen.out.print(f"{len(todo.todo) - failed} cells rescored with {escape(metric.label)}, "
                     f"{len(todo.skipped)} skipped, {failed} failed", highlight=False)
    return failed
