"""`genbench report`: a self-contained HTML report of a results folder (what it renders said on
stderr first, the page and the time it took on stdout at the end)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from genbench.api.errors import GenbenchError
from genbench.api.registry import load_plugins
from genbench.cli.console import DEFAULT_OUT, console, errors, screen
from genbench.results.files import write_page
from genbench.results.render import reporter_text
from genbench.run.session import reading


@click.command("report")
@click.argument("out_dir", default=DEFAULT_OUT, type=click.Path(file_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the page here (default: OUT_DIR/report.html).")
@click.option("--suite", help="Only this suite (default: every suite in the store).")
@click.option("--baseline", help="Compare every other group with this one (a label of the compared axes; "
                                 "default: the one present in the most contexts, the first on a tie).")
def command(out_dir: str, output: str | None, suite: str | None, baseline: str | None) -> None:
    """Write a self-contained HTML report of a results directory (opens offline)."""
    view = reading(out_dir, suite, screen)  # built from the store alone (no registry's directions)
    registry = load_plugins()
    started, results = time.perf_counter(), view.results
    errors.print(f"rendering the report of {len(results.cells)} cells, {len(results.values):,} values "
                 f"({', '.join(results.suites) or 'no suite'})...", highlight=False, markup=False)
    options = {"baseline": baseline} if baseline else {}
    text = reporter_text(registry, registry.default("reporter", "page"), view, **options)
    target = Path(output) if output else Path(out_dir) / "report.html"
    try:
        write_page(target, text)
    except OSError as exc:
        raise GenbenchError(f"cannot write the report to {target}: {exc.strerror}; fix: pass another -o") from None
    console.print(f"wrote {target} ({len(text.encode()) / 1e6:.1f} MB) in {time.perf_counter() - started:.1f}s",
                  highlight=False)
