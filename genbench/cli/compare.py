"""`genbench compare`: paired comparisons of groups, and the best score within k trials."""

from __future__ import annotations

import click

from genbench.api.axes import AXIS_NAMES
from genbench.api.errors import ConfigError
from genbench.api.registry import load_plugins
from genbench.cli.console import DEFAULT_OUT, print_text, screen
from genbench.results.compare import ALPHA
from genbench.results.render import reporter_text
from genbench.run.session import reading


@click.command("compare")
@click.argument("out_dir", default=DEFAULT_OUT, type=click.Path(file_okay=False))
@click.option("--metric", help="The value to compare, e.g. fid (its metric says which way is better); without "
              "it, the metrics the folder holds are listed.")
@click.option("--baseline", help="Compare every other group with this one (a label of the compared axes); "
              "default: every pair.")
@click.option("--suite", help="Only this suite's cells.")
@click.option("--axis", "axes", multiple=True, type=click.Choice(AXIS_NAMES), default=("objective",),
              show_default=True, help="The axis groups differ in; the other axes' labels must match. Repeatable.")
@click.option("--alpha", default=ALPHA, show_default=True, type=click.FloatRange(0, 1, min_open=True,
              max_open=True), help="Significance level, after Holm's correction.")
def command(out_dir: str, metric: str | None, baseline: str | None, suite: str | None, axes: tuple[str, ...],
            alpha: float) -> None:
    """Paired comparison of groups over the seeds both ran (each group's cells run, finite, failed
    and NaN; a signed-rank test where NaN and failures rank worst, Holm; bootstrap CI), and the best
    score within k trials of a [search]."""
    registry = load_plugins()
    view = reading(out_dir, suite, screen, registry)
    try:
        if metric is None:
            raise ConfigError(missing_metric(view.results))
        print_text(reporter_text(registry, registry.default("reporter", "compares"), view, metric=metric,
                                 baseline=baseline or "", axes=axes, alpha=alpha))
    finally:
        view.store.close()


def missing_metric(results) -> str:
    """What `compare` says without --metric: the eval metrics the folder holds, with their
    direction, and the command to run."""
    directions: dict[str, bool | None] = {}
    for value in results.values:
        if value.source == "eval":
            directions[value.name] = directions.get(value.name) if value.higher_is_better is None \
                else value.higher_is_better
    if not directions:
        return f"name the metric to compare with --metric; {results.directory} holds no eval metric yet"
    lines = [f"  {name}: " + ("higher is better" if up else "lower is better" if up is False
                              else "no direction recorded (cannot be compared)")
             for name, up in sorted(directions.items())]
    first = next((name for name, up in sorted(directions.items()) if up is not None), sorted(directions)[0])
    return (f"name the metric to compare with --metric, e.g. `genbench compare {results.directory} --metric "
            f"{first}`; the folder holds these eval metrics:\n" + "\n".join(lines))
