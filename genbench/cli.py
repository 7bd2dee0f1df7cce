"""The `genbench` command: thin wrappers over config, plan, runner, store and report."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from genbench.results import compare as compare_module
from genbench.run import cpu_policy
from genbench.run import rescore as rescore_module
from genbench.suite import config as config_module
from genbench.suite import limits as limits_module
from genbench.suite import plan
from genbench.api.axes import AXIS_NAMES
from genbench.run.checkpoints import RETENTION, Checkpoints
from genbench.run.code_version import cell_code_versions
from genbench.api.errors import ConfigError, GenbenchError
from genbench.results.cell_view import describe_cell, find_cell
from genbench.run.executors import ExecutorOptions
from genbench.run.signals import Interrupted, stop_on_signals
from genbench.run.lock import StoreLock
from genbench.run.loggers import result_loggers
from genbench.run.progress import SuiteProgress
from genbench.api.registry import Registry, load_plugins
from genbench.api.result import error_headline
from genbench.results.summary import ReportView
from genbench.report.table import TABLE_FORMATS
from genbench.run.resume import Pending, pending_cells
from genbench.run.runner import run_suite
from genbench.api.specs import SPEC_KINDS
from genbench.results.store import SCHEMA_VERSION, Store
from genbench.suite.catalog import builtin_suite_infos

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
    except Interrupted as exc:  # SIGINT, SIGTERM, SIGHUP during a run: the workers are killed
        errors.print(f"[yellow]interrupted[/] by {exc.signal_name}: every finished cell is saved; run the "
                     "same command again to resume (interrupted cells re-run).", soft_wrap=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)


@click.group()
@click.version_option(package_name="genbench")
def cli() -> None:
    """genbench: benchmark deep generative models through plugins."""


@cli.command("list")
@click.option("--kind", type=click.Choice((*KIND_ORDER, "suite")), help="Only this kind of component "
              "(suite: the built-in suites, with their descriptions and cell counts).")
@click.option("--params", is_flag=True, help="Show each component's parameters.")
def list_command(kind: str | None, params: bool) -> None:
    """Show every registered component: datasets, models, objectives (with their own training
    defaults), optimizers, metrics, kernel backends, families, domains, reporters and executors;
    then the built-in suites."""
    registry = load_plugins()
    table = Table(title="genbench components")
    for header in ("kind", "name", "description", "plugin", "distribution"):
        table.add_column(header, overflow="fold")
    for k in KIND_ORDER if kind is None else (kind,) if kind != "suite" else ():
        for name in registry.names(k):
            origin = registry.origin(k, name)
            description = escape(origin.spec.description)
            if k == "kernel":
                reason = origin.spec.available()
                description += "" if reason is None else f" [dim](unavailable: {escape(reason)})[/]"
            if k == "objective" and origin.spec.train_defaults:
                defaults = ", ".join(f"{key}={value}" for key, value in origin.spec.train_defaults.items())
                description += f"\n  [green]trains with[/] {escape(defaults)} (unless the suite sets them)"
            if params and origin.spec.params:
                description += "".join(f"\n  [cyan]{p}[/]: {escape(v.describe())}"
                                       for p, v in origin.spec.params.items())
            table.add_row(k, name, description, origin.plugin, origin.distribution)
    if kind in (None, "suite"):
        for info in builtin_suite_infos(registry):
            cells = f"{info.cells} cells" if info.cells is not None else f"cannot be planned here: {info.problem}"
            table.add_row("suite", info.name, f"{escape(info.description)} [dim]({escape(cells)})[/]",
                          "built-in", "genbench")
    console.print(table)
    for problem in registry.problems:
        errors.print(f"[bold yellow]plugin problem:[/] {problem}", highlight=False)


@cli.command("run")
@click.argument("suite", default="quick")
@click.option("--out", "out_dir", default=DEFAULT_OUT, show_default=True, type=click.Path(file_okay=False),
              help="Results directory (created if needed; re-running resumes).")
@click.option("--workers", type=click.IntRange(min=1),
              help="Run N cells at once (default: one per free core, at most one per cell).")
@click.option("--executor", "executor_name", default="process", show_default=True,
              help="How cells run: a registered executor (`genbench list --kind executor`). `process` "
                   "isolates each cell in a worker process and enforces the limits; `local` runs cells in "
                   "this process (for debugging: no isolation, no limits).")
@click.option("--scheduler", metavar="ADDRESS",
              help="With --executor dask: the scheduler of a running Dask cluster, e.g. tcp://host:8786 "
                   "(default: start a LocalCluster on this machine).")
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
              help="Also log each cell's results as it finishes through this reporter, e.g. tensorboard "
                   "(to OUT/tensorboard; needs `pip install genbench[tensorboard]`). Repeatable.")
@click.option("--max-cells", type=click.IntRange(min=1), default=config_module.MAX_CELLS, show_default=True,
              help="Refuse a suite that plans more cells than this (checked before any cell is made).")
@click.option("--checkpoints", "retention", type=click.Choice(RETENTION), default="last", show_default=True,
              help="Checkpoints written at each eval step to OUT/checkpoints (an interrupted cell resumes "
                   "from its newest; `genbench rescore` reads a finished cell's): keep the last of each "
                   "cell, all of them, or none (and resume nothing from them).")
def run_command(suite: str, out_dir: str, workers: int | None, executor_name: str, patterns: tuple[str, ...],
                threads: int | None, timeout_text: str | None, max_memory_text: str | None, dry_run: bool,
                wait: bool, reuse_stale: bool, settings: tuple[str, ...], log_names: tuple[str, ...],
                retention: str, scheduler: str | None, max_cells: int) -> None:
    """Run SUITE (a .toml file or a built-in suite name; default: quick)."""
    registry = load_plugins()
    suite_config = config_module.load(suite, registry, settings, max_cells)
    limit_flags = {
        "timeout": _parse_flag("--timeout", timeout_text, limits_module.parse_timeout, limits_module.TIMEOUT_HELP),
        "max_memory": _parse_flag("--max-memory", max_memory_text, limits_module.parse_memory,
                                  limits_module.MEMORY_HELP)}
    try:
        executor_spec = registry.get("executor", executor_name)
    except GenbenchError as exc:
        raise ConfigError(f"--executor: {exc}") from None
    if scheduler is not None and executor_name != "dask":
        raise ConfigError(f"--scheduler is for --executor dask, not {executor_name!r}; fix: add --executor dask")
    cells = plan.select(plan.expand(suite_config, registry), patterns)
    if not cells:
        raise GenbenchError(f"--only {' '.join(patterns)!r} matches no cell of suite "
                            f"{suite_config.name!r}; fix: run with --dry-run to see the cell paths.")
    if dry_run:
        for cell in cells:
            console.print(f"{cell.cell_id}  {cell.path}", highlight=False)
        policy = cpu_policy.choose(len(cells), workers, threads)
        limits, limit_sources = limits_module.resolve(limit_flags, dict(suite_config.limits), policy.workers)
        console.print(f"{len(cells)} cells; CPU: {policy.describe()}", highlight=False, markup=False)
        console.print(_describe_limits(limits, limit_sources, executor_name), highlight=False, markup=False)
        return
    loggers = result_loggers(registry, log_names, out_dir)

    def waiting(holder: str) -> None:
        errors.print(f"waiting: {escape(out_dir)} is being written by another genbench run ({holder}); "
                     f"this run starts when it finishes.", highlight=False)

    with stop_on_signals(), StoreLock(out_dir).hold(wait=wait, on_wait=waiting):
        store = Store(out_dir)
        try:
            if store.backup is not None:
                console.print(f"migrated {store.path} from store schema {store.migrated_from} to "
                              f"{SCHEMA_VERSION}; backup of the original at {store.backup}", markup=False,
                              highlight=False)
            store.record_suite(suite_config.name, suite_config.path, suite_config.description, cells)
            console.print(f"suite [bold]{escape(suite_config.name)}[/]: {len(cells)} cells -> "
                          f"{escape(str(store.path))}")
            code = {cell.cell_id: cell_code_versions(cell, registry) for cell in cells}
            pending = pending_cells(cells, store, code, reuse_stale)
            for notice in pending.notices():
                console.print(notice, markup=False, highlight=False)
            policy = cpu_policy.choose(len(pending.run), workers, threads)
            limits, limit_sources = limits_module.resolve(limit_flags, dict(suite_config.limits), policy.workers)
            console.print(f"CPU: {policy.describe()}; {_describe_limits(limits, limit_sources, executor_name)}",
                          highlight=False, markup=False)
            checkpoints = None if retention == "none" else Checkpoints.of_results(out_dir, retention)
            if checkpoints is not None and not reuse_stale:
                for cell_id in pending.stale:  # re-run from step 0: their checkpoints are of the old code
                    checkpoints.discard(cell_id)
            options = ExecutorOptions(registry, policy.workers, policy.threads, None, limits, checkpoints,
                                      scheduler, suite_config.cluster)
            outcome = _run(cells, pending, store, executor_spec, options, code, {"cpu_policy": policy.record()},
                           loggers)
            if outcome.skipped:
                console.print(f"skipped {outcome.skipped} cells already in the store")
            _print_failures(outcome.results, cells)
            _print_report(registry, "table", ReportView(store, suite_config.name, console.width),
                          format="terminal" if console.is_terminal else "plain")
        finally:
            store.close()
            for logger in loggers:
                logger.close()
    if outcome.count("failed"):
        sys.exit(1)


def _parse_flag(flag: str, text: str | None, parse, expected: str):
    if text is None:
        return None
    try:
        return parse(text)
    except ValueError as exc:
        raise ConfigError(f"{flag}: {exc}; fix: give {expected}") from None


def _describe_limits(limits: limits_module.CellLimits, sources: dict[str, str], executor_name: str) -> str:
    text = (f"limits per cell: timeout {limits_module.format_duration(limits.timeout_s)} ({sources['timeout']}), "
            f"max_memory {limits_module.format_bytes(limits.max_memory_bytes)} ({sources['max_memory']})")
    if executor_name == "local":
        text += "; not enforced by the local executor (use --executor process)"
    return text


def _run(cells, pending: Pending, store: Store, executor_spec, options: ExecutorOptions, code: dict,
         run_env: dict, loggers=()):
    """Run the cells through the executor `options` describe (its on_event: the progress bars);
    each result goes to the `loggers` (--log) as it arrives."""
    labels = {cell.cell_id: cell.path for cell in cells}

    def finished(cell, result) -> None:
        bars.cell_finished(cell.cell_id)
        for logger in loggers:
            logger.on_result(cell, result)

    with SuiteProgress(console, len(cells), labels) as bars:
        bars.progress.advance(bars.suite_task, len(cells) - len(pending.run))
        executor = executor_spec.factory(replace(options, on_event=bars.update))
        try:
            outcome = run_suite(cells, store, executor, finished, code, pending, run_env)
        except BaseException:  # a stop signal, or a store that cannot be written (disk full): kill the workers
            executor.shutdown(cancel=True)
            raise
        executor.shutdown()
        return outcome


def _print_failures(results, cells) -> None:
    paths = {cell.cell_id: cell.path for cell in cells}
    for result in results:
        if result.status == "failed":
            errors.print(f"[bold red]failed:[/] {escape(paths[result.cell_id])}: "
                         f"{escape(error_headline(result.error))}", highlight=False)
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
    from genbench.kernels.bench import format_table, run_kernel_benchmarks

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
    console.print(_report(registry, reporter, view, **params), highlight=False, markup=False, soft_wrap=True, end="")


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
    if store.migrated_from is not None:
        errors.print(f"note: {store.path} is a store of schema {store.migrated_from}; read through an "
                     f"in-memory migration to schema {SCHEMA_VERSION} (the file is unchanged; `genbench run` "
                     f"on it migrates it, keeping a backup).", markup=False, highlight=False)
    suites = store.suites()
    if suite is not None and suite not in suites:
        raise GenbenchError(f"no suite {suite!r} in {store.path}; it holds: {', '.join(suites) or 'none'}")
    return ReportView(store, suite, console.width)


@cli.command("show")
@click.argument("out_dir", default=DEFAULT_OUT, type=click.Path(file_okay=False))
@click.option("--suite", help="Only this suite's cells (default: every cell in the store).")
@click.option("--all", "all_columns", is_flag=True, help="Every training statistic and throughput.")
@click.option("--no-pictures", is_flag=True, help="Do not list the sample pictures.")
@click.option("--format", "fmt", type=click.Choice(("auto", *TABLE_FORMATS)), default="auto", show_default=True,
              help="terminal: tables fitted to the terminal's width; plain: one wide table (what a pipe gets); "
                   "markdown: a Markdown table. auto: terminal on a terminal, else plain.")
@click.option("--cell", "cell_id", metavar="ID", help="Instead: one cell's resolved configuration, environment and "
              "status (a cell id, or a unique prefix of one).")
def show_command(out_dir: str, suite: str | None, all_columns: bool, no_pictures: bool, fmt: str,
                 cell_id: str | None) -> None:
    """Print results aggregated over seeds from a results directory."""
    view = _open_view(out_dir, suite)
    if cell_id is not None:
        console.print(describe_cell(view.store, find_cell(view.store, cell_id, suite)), markup=False,
                      highlight=False, soft_wrap=True, end="")
        return
    if fmt == "auto":
        fmt = "terminal" if console.is_terminal else "plain"
    _print_report(load_plugins(), "table", view, all=all_columns, pictures=not no_pictures, format=fmt)


@cli.command("compare")
@click.argument("out_dir", default=DEFAULT_OUT, type=click.Path(file_okay=False))
@click.option("--metric", required=True, help="The value to compare, e.g. fid (its metric says which way is better).")
@click.option("--baseline", help="Compare every other group with this one (a label of the compared axes); "
              "default: every pair.")
@click.option("--suite", help="Only this suite's cells.")
@click.option("--axis", "axes", multiple=True, type=click.Choice(AXIS_NAMES), default=("objective",),
              show_default=True, help="The axis groups differ in; the other axes' labels must match. Repeatable.")
@click.option("--alpha", default=compare_module.ALPHA, show_default=True, type=click.FloatRange(0, 1, min_open=True,
              max_open=True), help="Significance level, after Holm's correction.")
def compare_command(out_dir: str, metric: str, baseline: str | None, suite: str | None, axes: tuple[str, ...],
                    alpha: float) -> None:
    """Paired comparison of groups over their shared seeds (bootstrap CI, permutation test, Holm),
    and the best score within k trials of a [search]."""
    registry = load_plugins()
    view = _open_view(out_dir, suite)
    try:
        found = compare_module.comparisons(view.store, metric, baseline, suite, axes, alpha, registry)
        curves = compare_module.budget_curves(view.store, metric, suite, axes, registry)
    finally:
        view.store.close()
    for renderable in compare_module.terminal_tables(found, curves):
        console.print(renderable, highlight=False, markup=False, soft_wrap=isinstance(renderable, str))


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


@cli.command("report")
@click.argument("out_dir", default=DEFAULT_OUT, type=click.Path(file_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the page here (default: OUT_DIR/report.html).")
@click.option("--suite", help="Only this suite (default: every suite in the store).")
def report_command(out_dir: str, output: str | None, suite: str | None) -> None:
    """Write a self-contained HTML report of a results directory (opens offline)."""
    from genbench.report.html import render_report  # matplotlib and Jinja2 load only for this command

    view = _open_view(out_dir, suite)  # built from the store alone: no plugin is loaded
    text = render_report(view.store, view.suite)
    target = Path(output) if output else Path(out_dir) / "report.html"
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GenbenchError(f"cannot write the report to {target}: {exc.strerror}; fix: pass another -o") from None
    console.print(f"wrote {target} ({len(text.encode()) / 1e6:.1f} MB)", highlight=False)


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
        selected = [(stored, rescore_module.stored_cell(stored, suite or "", registry))
                    for stored in reader.cells(suite)]
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
