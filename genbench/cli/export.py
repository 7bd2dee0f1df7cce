"""`genbench export`: results written through a reporter (CSV, JSON, ...)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from genbench.api.registry import load_plugins
from genbench.cli.console import DEFAULT_OUT, console, screen
from genbench.results.render import reporter_text
from genbench.run.session import reading


@click.command("export")
@click.argument("out_dir", default=DEFAULT_OUT, type=click.Path(file_okay=False))
@click.option("--format", "fmt", help="A registered reporter: csv (the built-ins' default), json, or any a plugin "
              "adds (`genbench list --kind reporter`).")
@click.option("--suite", help="Only this suite's cells.")
@click.option("--raw", is_flag=True, help="Every metric row of every cell with its provenance, "
              "instead of the summary over seeds.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
def command(out_dir: str, fmt: str | None, suite: str | None, raw: bool, output: str | None) -> None:
    """Write results through a reporter (CSV, JSON, ...)."""
    registry = load_plugins()
    text = reporter_text(registry, fmt or registry.default("reporter"), reading(out_dir, suite, screen),
                         **({"raw": True} if raw else {}))
    if output:
        Path(output).write_text(text, encoding="utf-8")
        console.print(f"wrote {output}", highlight=False)
    else:
        sys.stdout.write(text)
