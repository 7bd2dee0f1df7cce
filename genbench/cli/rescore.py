"""`genbench rescore`: a metric added to finished cells from their checkpoints, without retraining."""

from __future__ import annotations

import sys

import click

from genbench.cli.console import screen
from genbench.run.session import RescoreRequest, rescore


@click.command("rescore")
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
def command(out_dir: str, metric_spec: str, suite: str | None, patterns: tuple[str, ...],
            overwrite: bool, wait: bool) -> None:
    """Add a metric to the finished cells of OUT_DIR, scored at their final step from their
    checkpoints, without retraining."""
    failed = rescore(RescoreRequest(out_dir, metric_spec, suite, patterns, overwrite, wait), screen)
    if failed:
        sys.exit(1)
