"""`genbench show`: the results of a results folder, aggregated over seeds, or one cell."""

from __future__ import annotations

import click

from genbench.api.registry import load_plugins
from genbench.cli.console import DEFAULT_OUT, console, print_text, screen
from genbench.results.render import reporter_text
from genbench.results.cell_view import describe_cell, find_cell
from genbench.run.session import reading

TABLE_FORMATS = ("terminal", "plain", "markdown")  # the formats of the terminal reporter (`table`)

@click.command("show")
@click.argument("out_dir", default=DEFAULT_OUT, type=click.Path(file_okay=False))
@click.option("--suite", help="Only this suite's cells (default: every cell in the store).")
@click.option("--all", "all_columns", is_flag=True, help="Every training statistic and throughput; every "
              "cell measured on an overloaded machine and every cell's latest picture.")
@click.option("--no-pictures", is_flag=True, help="Do not list the sample pictures.")
@click.option("--format", "fmt", type=click.Choice(("auto", *TABLE_FORMATS)), default="auto", show_default=True,
              help="terminal: tables fitted to the terminal's width; plain: one wide table (what a pipe gets); "
                   "markdown: a Markdown table. auto: terminal on a terminal, else plain.")
@click.option("--cell", "cell_id", metavar="ID", help="Instead: one cell's resolved configuration, environment and "
              "status (a cell id, or a unique prefix of one).")
def command(out_dir: str, suite: str | None, all_columns: bool, no_pictures: bool, fmt: str,
            cell_id: str | None) -> None:
    """Print results aggregated over seeds from a results directory."""
    view = reading(out_dir, suite, screen)
    if cell_id is not None:
        print_text(describe_cell(view.results, find_cell(view.results, cell_id)))
        return
    if fmt == "auto":
        fmt = "terminal" if console.is_terminal else "plain"
    registry = load_plugins()
    print_text(reporter_text(registry, registry.default("reporter", "terminal"), view, all=all_columns,
                             pictures=not no_pictures, format=fmt))
