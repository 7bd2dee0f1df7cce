"""The HTML report's figures, drawn by matplotlib (Agg) and embedded as PNG data: URIs.

Every figure of a dataset gives each group the same colour, dash and marker (one legend per
dataset); a curve is the mean over seeds at each recorded step with the seeds' range (min to
max) as a band, binned to MAX_POINTS points when longer (thousands of logged steps draw as fast
and read as well as a few). One figure per metric: the page lays them out at its width. The PNGs carry no software
version or date, so the same store draws byte-identical figures.
"""

from __future__ import annotations

import base64
import io
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genbench.plugins.reporters.html_data import Column, DatasetBlock, Group

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DPI = 150  # crisp when the page scales a figure up (one per row at 800 px)
FIGURE_SIZE = (4.6, 3.2)  # inches of one metric's figure; the page lays them out in a grid
PAGE_WIDTH = 9.2  # inches of a page-wide figure (the legend, the throughput bars)
LEGEND_COLUMNS = 4
LOG_SPAN = 100.0  # a positive series spanning more than this factor is drawn on a log axis
MAX_POINTS = 300  # a longer curve is drawn as this many bins (mean; band: the bin's range)
LINE_STYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
NOTE_WIDTH = 60  # characters per line of the note naming groups with equal curves
MARKS_PER_LINE = 8  # markers drawn along a line, offset between groups so equal curves all show
RC = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "xtick.labelsize": 9,
          "ytick.labelsize": 9, "legend.fontsize": 10}


def pyplot():
    """matplotlib.pyplot on the Agg backend, imported when a figure is drawn (not when the plugins
    load: it costs most of a second)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot

def png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def figure_uri(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    pyplot().close(figure)
    return png_uri(buffer.getvalue())


@dataclass(frozen=True)
class Style:
    """How one group's lines look: colour, dash and marker, so that groups stay apart in grey,
    for colour-blind readers, and where their curves coincide."""

    colour: tuple
    line: str
    marker: str
    index: int  # the group's place: offsets its markers along the line

    def line_kwargs(self) -> dict:
        return {"color": self.colour, "linestyle": self.line, "marker": self.marker, "markersize": 5,
                "linewidth": 1.6}


def styles(groups: list[Group]) -> dict[str, Style]:
    """A style per group: ten colours, and a dash and marker that change with them."""
    palette = pyplot().get_cmap("tab10").colors
    return {g.label: Style(palette[i % len(palette)], LINE_STYLES[i % len(LINE_STYLES)],
                           MARKERS[i % len(MARKERS)], i) for i, g in enumerate(groups)}


def series(group: Group, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(steps, mean, low, high) over the group's seeds for `name`, at most MAX_POINTS of them (a
    longer curve in bins of consecutive steps); None without finite values."""
    by_seed = group.curves.get(name, {})
    if not by_seed:
        return None
    steps = np.unique(np.concatenate([np.asarray([step for step, _ in points]) for points in by_seed.values()]))
    table = np.full((len(by_seed), len(steps)), np.nan)  # (seeds, steps)
    for row, points in enumerate(by_seed.values()):
        at = np.searchsorted(steps, [step for step, _ in points])
        table[row, at] = [value for _, value in points]
    table[~np.isfinite(table)] = np.nan
    keep = ~np.isnan(table).all(axis=0)  # steps where some seed has a finite value
    if not keep.any():
        return None
    table, steps = table[:, keep], steps[keep]
    if len(steps) <= MAX_POINTS:
        return steps, np.nanmean(table, axis=0), np.nanmin(table, axis=0), np.nanmax(table, axis=0)
    bins = np.array_split(np.arange(len(steps)), MAX_POINTS)  # consecutive steps, deterministic
    return (np.array([steps[b[-1]] for b in bins]), np.array([np.nanmean(table[:, b]) for b in bins]),
            np.array([np.nanmin(table[:, b]) for b in bins]), np.array([np.nanmax(table[:, b]) for b in bins]))


def draw_column(axes, block: DatasetBlock, column: Column, style: dict[str, Style]) -> bool:
    """One metric's curves on `axes`, one line per group; False when no group has data. A group
    whose curve equals an earlier group's is named under the plot."""
    from matplotlib import ticker

    drawn: list[tuple[str, tuple]] = []
    same: dict[str, list[str]] = {}  # a group -> the later groups whose curve equals its own
    for group in block.groups:
        line = series(group, column.name)
        if line is None:
            continue
        steps, mean, low, high = line
        look = style[group.label]
        every = max(1, len(steps) // MARKS_PER_LINE)
        offset = (look.index * every // max(len(block.groups), 1)) % every
        axes.plot(steps, mean, label=group.label, markevery=(offset, every), **look.line_kwargs())
        axes.fill_between(steps, low, high, color=look.colour, alpha=0.15, linewidth=0)
        twin = next((label for label, other in drawn if equal(line, other)), None)
        if twin is not None:
            same.setdefault(twin, []).append(group.label)
        else:
            drawn.append((group.label, line))
    if not drawn:
        return False
    lows = np.concatenate([d[2] for _, d in drawn])
    highs = np.concatenate([d[3] for _, d in drawn])
    if lows.min() > 0 and highs.max() / lows.min() > LOG_SPAN:
        axes.set_yscale("log")
    unit = f" ({column.unit})" if column.unit else ""
    axes.set_title(f"{column.label} {column.arrow}".strip() + unit)
    note = "; ".join(" = ".join([twin, *others]) for twin, others in same.items())
    axes.set_xlabel("step" + ("\n" + textwrap.fill(f"same curve: {note}", NOTE_WIDTH) if note else ""))
    axes.xaxis.set_major_locator(ticker.MaxNLocator(5, integer=True))
    axes.grid(alpha=0.3)
    return True


def equal(a: tuple, b: tuple) -> bool:
    return len(a[0]) == len(b[0]) and all(np.allclose(x, y, equal_nan=True) for x, y in zip(a, b, strict=True))


def column_uris(block: DatasetBlock, columns: list[Column]) -> list[tuple[str, str]]:
    """(column label, figure) for each column with data: one figure per metric, laid out by the
    page in a grid that follows its width."""
    plt = pyplot()
    style = styles(block.groups)
    figures = []
    with plt.rc_context(RC):
        for column in columns:
            figure, axes = plt.subplots(figsize=FIGURE_SIZE, layout="constrained")
            if draw_column(axes, block, column, style):
                figures.append((column.label, figure_uri(figure)))
            else:
                plt.close(figure)
    return figures


def legend_uri(block: DatasetBlock) -> str | None:
    """The styles of the groups that drew a line, once for all of a dataset's figures; None with
    fewer than two of them."""
    drawn = [g for g in block.groups if g.curves]  # a group whose cells all failed draws no line
    if len(drawn) < 2:
        return None
    plt = pyplot()
    style = styles(block.groups)
    rows = math.ceil(len(drawn) / LEGEND_COLUMNS)
    with plt.rc_context(RC):
        figure = plt.figure(figsize=(PAGE_WIDTH, 0.3 * rows + 0.15))
        handles = [plt.Line2D([], [], **style[g.label].line_kwargs()) for g in drawn]
        figure.legend(handles, [g.label for g in drawn], loc="center", ncols=LEGEND_COLUMNS,
                      frameon=False, handlelength=3.5)
        return figure_uri(figure)


def panel_uris(block: DatasetBlock) -> list[tuple[str, list[tuple[str, str]]]]:
    """(panel title, its figures) for each panel the block's training statistics declare."""
    panels: dict[str, list[Column]] = {}
    for column in block.columns:
        if column.panel:
            panels.setdefault(column.panel, []).append(column)
    return [(title, figures) for title, columns in panels.items() if (figures := column_uris(block, columns))]


def throughput_uri(rows: list[dict]) -> str | None:
    """Samples per second of each group, bars coloured by kernel backend."""
    rows = [r for r in rows if r["samples_per_s"] is not None]
    if not rows:
        return None
    kernels = sorted({r["kernel"] for r in rows})
    plt = pyplot()
    palette = plt.get_cmap("tab10").colors
    with plt.rc_context(RC):
        figure, axes = plt.subplots(figsize=(PAGE_WIDTH, 0.3 * len(rows) + 1.0), layout="constrained")
        positions = np.arange(len(rows))
        axes.barh(positions, [r["samples_per_s"] for r in rows],
                  color=[palette[kernels.index(r["kernel"]) % len(palette)] for r in rows])
        axes.set_yticks(positions, [f"{r['group']}" for r in rows])
        axes.invert_yaxis()
        axes.set_xlabel("samples / s (training loop after warm-up)")
        axes.legend([plt.Rectangle((0, 0), 1, 1, color=palette[i % len(palette)]) for i in range(len(kernels))],
                    kernels, title="kernel backend")
        axes.grid(axis="x", alpha=0.3)
        return figure_uri(figure)


def picture_uri(directory: Path, relative: str) -> str | None:
    """A stored sample picture as a data: URI; None when the file is missing, lies outside the
    results folder, or is not a PNG."""
    root = directory.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    data = path.read_bytes()
    return png_uri(data) if data.startswith(PNG_MAGIC) else None
