"""`genbench export`: results written through a reporter (CSV, JSON, ...)."""

from __future__ import annotations

import sys

import click

from genbench.api.errors import GenbenchError
from genbench.api.registry import load_plugins
from genbench.cli.console import DEFAULT_OUT, console, screen
from genbench.results.files import write_output
from genbench.results.render import reporter_text
from genbench.run.session import reading


@click.command("export")
@click.argument("out_dir", default=DEFAULT_OUT, type=click.Path(file_okay=False))
@click.option("--format", "fmt", help="A registered reporter: csv (the built-ins' default), json, or any a plugin "
              "adds (`genbench list --kind reporter`).")
@click.option("--suite", help="Only this suite's cells.")
@click.option("--raw", is_flag=True, help="Every metric row of every cell with its provenance, "
              "instead of the summary over seeds.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of stdout (a new "
              "file; never through a symbolic link).")
@click.option("--overwrite", is_flag=True, help="Let -o replace an existing file.")
def command(out_dir: str, fmt: str | None, suite: str | None, raw: bool, output: str | None,
            overwrite: bool) -> None:
    """Write results through a reporter (CSV, JSON, ...)."""
    registry = load_plugins()
    text = reporter_text(registry, fmt or registry.default("reporter"), reading(out_dir, suite, screen),
                         **({"raw": True} if raw else {}))
    if output:
        try:
            write_output(output, text, overwrite)
        except OSError as exc:
            raise GenbenchError(f"cannot write {output}: {exc.strerror}; fix: pass another -o") from None
        console.print(f"wrote {output}", highlight=False)
    else:
        sys.stdout.write(text)
