"""The `genbench` command: thin wrappers over config, plan, runner, store and report."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import config as config_module
from . import plan
from . import rescore as rescore_module
from .checkpoints import RETENTION, Checkpoints
from .errors import ConfigError, GenbenchError
from .executors import ExecutorOptions
from .lock import StoreLock
from .progress import SuiteProgress
from .registry import Registry, load_plugins
from .report import ReportView
from .runner import SKIP_STATUSES, run_suite
from .specs import SPEC_KINDS
from .store import Store

DEFAULT_OUT = "genbench-results"
KIND_ORDER = tuple(SPEC_KINDS)
console = Console()
errors = Console(stderr=True)


def main() -> None:
    """Entry point: GenbenchError -> message without traceback, exit 2."""
    try:
        cli(standalone_mode=False)
    except GenbenchError as exc:
        errors.print("[bold red]error:[/]", end=" ")
        errors.print(str(exc), markup=False, highlight=False)  # "[[matrix]]" stays as written
        sys.exit(2)
    except click.exceptions.Abort:  # Ctrl-C: finished cells are already in the store
        errors.print("[yellow]interrupted[/]: every finished cell is saved; run the same command "
                     "again to resume (interrupted cells re-run).")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)


@click.group()
@click.version_option(package_name="genbench")
def cli() -> None:
    """genbench: benchmark deep generative models through plugins."""


@cli.command("list")
@click.option("--kind", type=click.Choice(KIND_ORDER), help="Only this kind of component.")
@click.option("--params", is_flag=True, help="Show each component's parameters.")
def list_command(kind: str | None, params: bool) -> None:
    """Show every registered component: datasets, models, objectives, optimizers, metrics,
    kernel backends, families, domains, reporters and executors."""
    registry = load_plugins()
    table = Table(title="genbench components")
    for header in ("kind", "name", "description", "plugin", "distribution"):
        table.add_column(header, overflow="fold")
    for k in KIND_ORDER if kind is None else (kind,):
        for name in registry.names(k):
            origin = registry.origin(k, name)
            description = origin.spec.description
            if k == "kernel":
                reason = origin.spec.available()
                description += "" if reason is None else f" [dim](unavailable: {reason})[/]"
            if params and origin.spec.params:
                description += "".join(f"\n  [cyan]{p}[/]: {v.describe()}" for p, v in origin.spec.params.items())
            table.add_row(k, name, description, origin.plugin, origin.distribution)
    console.print(table)
    for problem in registry.problems:
        errors.print(f"[bold yellow]plugin problem:[/] {problem}", highlight=False)


@cli.command("run")
@click.argument("suite", default="quick")
@click.option("--out", "out_dir", default=DEFAULT_OUT, show_default=True, type=click.Path(file_okay=False),
              help="Results directory (created if needed; re-running resumes).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="Run N cells at once (in worker processes unless --executor says otherwise).")
@click.option("--executor", "executor_name",
              help="How cells run: a registered executor (`genbench list --kind executor`); "
                   "default: local with one worker, process with several.")
@click.option("--only", "patterns", multiple=True,
              help="Only cells whose path (axis labels and seedN, joined by /) contains this "
                   "(or matches it as a glob). Repeatable.")
@click.option("--threads", type=click.IntRange(min=1),
              help="torch threads per worker (default: torch's own choice with one worker, "
                   "cores / workers with several). Tiny models on a busy machine run far faster with 1.")
@click.option("--dry-run", is_flag=True, help="Validate and list the cells; run nothing.")
@click.option("--wait", is_flag=True, help="If another run is writing to --out, wait for it to finish "
              "instead of stopping (one run writes to a results folder at a time).")
@click.option("--checkpoints", "retention", type=click.Choice(RETENTION), default="last", show_default=True,
              help="Checkpoints written at each eval step to OUT/checkpoints (an interrupted cell resumes "
                   "from its newest; `genbench rescore` reads a finished cell's): keep the last of each "
                   "cell, all of them, or none (and resume nothing from them).")
def run_command(suite: str, out_dir: str, workers: int, executor_name: str | None, patterns: tuple[str, ...],
                threads: int | None, dry_run: bool, wait: bool, retention: str) -> None:
    """Run SUITE (a .toml file or a built-in suite name; default: quick)."""
    registry = load_plugins()
    suite_config = config_module.load(suite, registry)
    executor_name = executor_name or ("local" if workers == 1 else "process")
    try:
        executor_spec = registry.get("executor", executor_name)
    except GenbenchError as exc:
        raise ConfigError(f"--executor: {exc}") from None
    cells = plan.select(plan.expand(suite_config, registry), patterns)
    if not cells:
        raise GenbenchError(f"--only {' '.join(patterns)!r} matches no cell of suite "
                            f"{suite_config.name!r}; fix: run with --dry-run to see the cell paths.")
    if dry_run:
        for cell in cells:
            console.print(f"{cell.cell_id}  {cell.path}", highlight=False)
        console.print(f"{len(cells)} cells", highlight=False)
        return

    def waiting(holder: str) -> None:
        errors.print(f"waiting: {escape(out_dir)} is being written by another genbench run ({holder}); "
                     f"this run starts when it finishes.", highlight=False)

    with StoreLock(out_dir).hold(wait=wait, on_wait=waiting):
        store = Store(out_dir)
        try:
            store.record_suite(suite_config.name, suite_config.path, suite_config.description, cells)
            console.print(f"suite [bold]{escape(suite_config.name)}[/]: {len(cells)} cells -> "
                          f"{escape(str(store.path))}")
            checkpoints = None if retention == "none" else Checkpoints.of_results(out_dir, retention)
            outcome = _run(cells, store, registry, executor_spec, workers, threads, checkpoints)
            if outcome.skipped:
                console.print(f"skipped {outcome.skipped} cells already in the store")
            _print_failures(outcome.results, cells)
            _print_report(registry, "table", ReportView(store, suite_config.name, console.width))
        finally:
            store.close()
    if outcome.count("failed"):
        sys.exit(1)


def _run(cells, store: Store, registry: Registry, executor_spec, workers: int, threads: int | None,
         checkpoints: Checkpoints | None):
    labels = {cell.cell_id: cell.path for cell in cells}
    with SuiteProgress(console, len(cells), labels) as bars:
        statuses = store.statuses()
        done_already = sum(statuses.get(cell.cell_id) in SKIP_STATUSES for cell in cells)
        bars.progress.advance(bars.suite_task, done_already)
        executor = executor_spec.factory(ExecutorOptions(registry, workers, threads, bars.update, checkpoints))
        try:
            outcome = run_suite(cells, store, executor, lambda cell, result: bars.cell_finished(cell.cell_id))
        except BaseException:  # Ctrl-C, or a store that cannot be written (disk full): stop the workers
            executor.shutdown(cancel=True)
            raise
        executor.shutdown()
        return outcome


def _print_failures(results, cells) -> None:
    paths = {cell.cell_id: cell.path for cell in cells}
    for result in results:
        if result.status == "failed":
            last_line = (result.error or "").strip().splitlines()[-1:] or ["?"]
            errors.print(f"[bold red]failed:[/] {paths[result.cell_id]}: {last_line[0]}", highlight=False)
        elif result.status == "diverged":
            errors.print(f"[yellow]diverged:[/] {paths[result.cell_id]}: {result.error}", highlight=False)


def _int_list(text: str) -> list[int]:
    try:
        return [int(float(part)) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of sizes, e.g. 1e3,1e5,1.6e7") from None


@cli.command("kernels")
@click.option("--sizes", default="1e3,1.6e4,2.6e5,4.2e6,1.6e7", show_default=True,
              help="Comma-separated element counts.")
@click.option("--backends", default="",
              help="Comma-separated registered kernel backends (default: every one); ones that cannot "
                   "run here are skipped with the reason.")
@click.option("--ops", default="gan_loss,vae_loss,bias_act,batchnorm_act", show_default=True)
@click.option("--repeats", default=10, show_default=True, type=click.IntRange(min=2))
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Also write the rows as CSV.")
def kernels_command(sizes: str, backends: str, ops: str, repeats: int, csv_path: str | None) -> None:
    """Benchmark the fused ops: forward+backward time per backend against a same-size memcpy."""
    from .kernels.bench import format_table, run_kernel_benchmarks

    registry = load_plugins()
    chosen = [b.strip() for b in backends.split(",") if b.strip()] or registry.names("kernel")
    runnable = []
    for name in chosen:
        spec = registry.get("kernel", name)  # UnknownComponentError names the registered ones
        reason = spec.available()
        if reason is None:
            runnable.append(spec.backend())
        else:
            errors.print(f"[yellow]skipping {name}:[/] {reason}", highlight=False)
    try:
        rows = run_kernel_benchmarks(_int_list(sizes), runnable, [o.strip() for o in ops.split(",")],
                                     repeats, csv_path)
    except ValueError as exc:
        raise GenbenchError(str(exc)) from None
    console.print(format_table(rows), highlight=False, soft_wrap=True)
    if csv_path:
        console.print(f"wrote {len(rows)} rows to {csv_path}")


def _print_report(registry: Registry, reporter: str, view: ReportView, **params) -> None:
    console.print(_report(registry, reporter, view, **params), highlight=False, soft_wrap=True, end="")


def _report(registry: Registry, reporter: str, view: ReportView, **params) -> str:
    """The text of a registered reporter over `view`, with `params` checked like a suite's."""
    spec = registry.get("reporter", reporter)
    unknown = set(params) - set(spec.params)
    if unknown:
        raise ConfigError(f"reporter {reporter!r} takes no {', '.join(sorted(unknown))} option; "
                          f"its options: {', '.join(spec.params) or 'none'}")
    resolved = {key: param.default for key, param in spec.params.items()}
    resolved.update({key: spec.params[key].check(value) for key, value in params.items()})
    return spec.factory(view, **resolved)


def _open_view(out_dir: str, suite: str | None) -> ReportView:
    store = Store(out_dir, create=False)
    suites = store.suites()
    if suite is not None and suite not in suites:
        raise GenbenchError(f"no suite {suite!r} in {store.path}; it holds: {', '.join(suites) or 'none'}")
    return ReportView(store, suite, console.width)


@cli.command("show")
@click.argument("out_dir", default=DEFAULT_OUT, type=click.Path(file_okay=False))
@click.option("--suite", help="Only this suite's cells (default: every cell in the store).")
@click.option("--all", "all_columns", is_flag=True, help="Every training statistic and throughput.")
@click.option("--no-pictures", is_flag=True, help="Do not list the sample pictures.")
def show_command(out_dir: str, suite: str | None, all_columns: bool, no_pictures: bool) -> None:
    """Print results aggregated over seeds from a results directory."""
    _print_report(load_plugins(), "table", _open_view(out_dir, suite), all=all_columns,
                  pictures=not no_pictures)


@cli.command("export")
@click.argument("out_dir", default=DEFAULT_OUT, type=click.Path(file_okay=False))
@click.option("--format", "fmt", default="csv", show_default=True,
              help="A registered reporter: csv, json, or any a plugin adds (`genbench list --kind reporter`).")
@click.option("--suite", help="Only this suite's cells.")
@click.option("--raw", is_flag=True, help="Every metric row of every cell with its provenance, "
              "instead of the summary over seeds.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
def export_command(out_dir: str, fmt: str, suite: str | None, raw: bool, output: str | None) -> None:
    """Write results through a reporter (CSV, JSON, ...)."""
    registry = load_plugins()
    text = _report(registry, fmt, _open_view(out_dir, suite), **({"raw": True} if raw else {}))
    if output:
        Path(output).write_text(text, encoding="utf-8")
        console.print(f"wrote {output}", highlight=False)
    else:
        sys.stdout.write(text)


@cli.command("rescore")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--metric", "metric_spec", required=True,
              help='A metric name, or an inline TOML table as in a suite\'s eval.metrics, e.g. '
                   '\'{ name = "modes", n_samples = 500 }\' (parameters checked as a suite file\'s).')
@click.option("--suite", help="Only this suite's cells (default: every cell in the store).")
@click.option("--only", "patterns", multiple=True,
              help="Only cells whose path contains this (or matches it as a glob). Repeatable.")
@click.option("--replace", "overwrite", is_flag=True,
              help="Overwrite values the cells already have (default: refuse).")
@click.option("--wait", is_flag=True, help="If a run is writing to OUT_DIR, wait for it to finish.")
def rescore_command(out_dir: str, metric_spec: str, suite: str | None, patterns: tuple[str, ...],
                    overwrite: bool, wait: bool) -> None:
    """Add a metric to the finished cells of OUT_DIR, scored at their final step from their
    checkpoints, without retraining."""
    registry = load_plugins()
    metric = rescore_module.parse_metric(metric_spec, registry)
    checkpoints = Checkpoints.of_results(out_dir)
    reader = _open_view(out_dir, suite).store
    try:
        selected = [(stored, rescore_module.stored_cell(stored, suite or "")) for stored in reader.cells(suite)]
        if patterns:
            chosen = {c.cell_id for c in plan.select([c for _, c in selected if c is not None], patterns)}
            selected = [(s, c) for s, c in selected if c is not None and c.cell_id in chosen]
        existing = {s.cell_id: {(r["step"], r["name"]) for r in reader.metrics(s.cell_id)} for s, _ in selected}
    finally:
        reader.close()
    todo = rescore_module.plan_rescore(selected, metric, registry, checkpoints, existing, overwrite)
    for where, reason in todo.skipped:
        errors.print(f"[yellow]skipped:[/] {escape(where)}: {escape(reason)}", highlight=False)

    def waiting(holder: str) -> None:
        errors.print(f"waiting: {escape(out_dir)} is being written by another genbench run ({holder}).",
                     highlight=False)

    failed = 0
    with StoreLock(out_dir).hold(wait=wait, on_wait=waiting):
        store = Store(out_dir)
        try:
            for cell in todo.todo:
                try:
                    rows = rescore_module.rescore_cell(cell, metric, registry, checkpoints)
                    store.add_metrics(cell.cell_id, rows, overwrite)
                except Exception as exc:  # one cell's failure is reported; the others are still scored
                    failed += 1
                    errors.print(f"[bold red]failed:[/] {escape(cell.path)}: {escape(str(exc))}", highlight=False)
                    continue
                values = ", ".join(f"{r.name} = {r.value:.6g}" for r in rows)
                console.print(f"rescored {escape(cell.path)} at step {cell.eval_steps[-1]}: {escape(values)}",
                              highlight=False)
        finally:
            store.close()
    console.print(f"{len(todo.todo) - failed} cells rescored with {escape(metric.label)}, "
                  f"{len(todo.skipped)} skipped, {failed} failed", highlight=False)
    if failed:
        sys.exit(1)
