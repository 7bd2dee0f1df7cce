"""The HTML report's figures, drawn by matplotlib (Agg) and embedded as PNG data: URIs.

Every figure of a dataset gives each group the same colour; a curve is the mean over seeds at
each recorded step with the seeds' range (min to max) as a band. The PNGs carry no software
version or date, so the same store draws byte-identical figures.
"""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path

import numpy as np

from genbench.plugins.reporters.html_data import Column, DatasetBlock, Group

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DPI = 72
COLUMNS_PER_ROW = 3
SUBPLOT_SIZE = (4.0, 2.8)  # inches
LEGEND_COLUMNS = 4
LOG_SPAN = 100.0  # a positive series spanning more than this factor is drawn on a log axis



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


def colours(groups: list[Group]) -> dict[str, tuple]:
    palette = pyplot().get_cmap("tab10").colors
    return {g.label: palette[i % len(palette)] for i, g in enumerate(groups)}


def series(group: Group, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(steps, mean, low, high) over the group's seeds for `name`; None without finite values."""
    by_seed = group.curves.get(name, {})
    steps = sorted({step for points in by_seed.values() for step, _ in points})
    if not steps:
        return None
    table = np.full((len(by_seed), len(steps)), np.nan)  # (seeds, steps)
    index = {step: i for i, step in enumerate(steps)}
    for row, points in enumerate(by_seed.values()):
        for step, value in points:
            table[row, index[step]] = value
    table[~np.isfinite(table)] = np.nan
    keep = ~np.isnan(table).all(axis=0)  # steps where some seed has a finite value
    if not keep.any():
        return None
    table = table[:, keep]
    return (np.asarray(steps)[keep], np.nanmean(table, axis=0), np.nanmin(table, axis=0),
            np.nanmax(table, axis=0))


def draw_column(axes, block: DatasetBlock, column: Column, palette: dict[str, tuple]) -> bool:
    """One metric's curves on `axes`, one line per group; False when no group has data."""
    from matplotlib import ticker

    drawn = []
    for group in block.groups:
        line = series(group, column.name)
        if line is None:
            continue
        steps, mean, low, high = line
        axes.plot(steps, mean, color=palette[group.label], label=group.label, marker="." if len(steps) < 12 else None)
        axes.fill_between(steps, low, high, color=palette[group.label], alpha=0.2, linewidth=0)
        drawn.append(line)
    if not drawn:
        return False
    lows = np.concatenate([d[2] for d in drawn])
    highs = np.concatenate([d[3] for d in drawn])
    if lows.min() > 0 and highs.max() / lows.min() > LOG_SPAN:
        axes.set_yscale("log")
    unit = f" ({column.unit})" if column.unit else ""
    axes.set_title(f"{column.label} {column.arrow}".strip() + unit, fontsize=10)
    axes.set_xlabel("step", fontsize=8)
    axes.tick_params(labelsize=8)
    axes.xaxis.set_major_locator(ticker.MaxNLocator(5, integer=True))
    axes.grid(alpha=0.3)
    return True


def curves_uri(block: DatasetBlock, columns: list[Column], title: str) -> str | None:
    """A grid of subplots, one per column, with one legend for the groups; None if nothing to draw."""
    columns = [c for c in columns if any(series(g, c.name) is not None for g in block.groups)]
    if not columns:
        return None
    cols = min(COLUMNS_PER_ROW, len(columns))
    rows = math.ceil(len(columns) / cols)
    legend_rows = math.ceil(len(block.groups) / LEGEND_COLUMNS)
    margin_top, margin_bottom = 0.7, 0.55 + 0.2 * legend_rows  # inches: the title; the step label and legend
    height = SUBPLOT_SIZE[1] * rows + margin_top + margin_bottom
    plt = pyplot()
    figure, grid = plt.subplots(rows, cols, figsize=(SUBPLOT_SIZE[0] * cols, height), squeeze=False)
    figure.subplots_adjust(left=0.25 / cols, right=0.98, top=1 - margin_top / height,
                           bottom=margin_bottom / height, hspace=0.45, wspace=0.3)
    palette = colours(block.groups)
    for axes, column in zip(grid.flat, columns, strict=False):
        draw_column(axes, block, column, palette)
    for axes in list(grid.flat)[len(columns):]:
        axes.set_visible(False)
    drawn = [g for g in block.groups if any(series(g, c.name) is not None for c in columns)]
    handles = [plt.Line2D([], [], color=palette[g.label]) for g in drawn]
    figure.legend(handles, [g.label for g in drawn], loc="lower center", bbox_to_anchor=(0.5, 0.0),
                  ncols=min(len(handles), LEGEND_COLUMNS), fontsize=8, frameon=False)
    figure.suptitle(title, fontsize=11, y=1 - 0.1 / height, va="top")
    return figure_uri(figure)


def panel_uris(block: DatasetBlock) -> list[tuple[str, str]]:
    """(panel title, figure) for each panel the block's training statistics declare."""
    panels: dict[str, list[Column]] = {}
    for column in block.columns:
        if column.panel:
            panels.setdefault(column.panel, []).append(column)
    figures = []
    for title, columns in panels.items():
        uri = curves_uri(block, columns, f"{block.name}: {title}")
        if uri is not None:
            figures.append((title, uri))
    return figures


def throughput_uri(rows: list[dict]) -> str | None:
    """Samples per second of each group, bars coloured by kernel backend."""
    rows = [r for r in rows if r["samples_per_s"] is not None]
    if not rows:
        return None
    kernels = sorted({r["kernel"] for r in rows})
    plt = pyplot()
    palette = plt.get_cmap("tab10").colors
    figure, axes = plt.subplots(figsize=(9, 0.25 * len(rows) + 1.0), layout="tight")
    positions = np.arange(len(rows))
    axes.barh(positions, [r["samples_per_s"] for r in rows],
              color=[palette[kernels.index(r["kernel"]) % len(palette)] for r in rows])
    axes.set_yticks(positions, [f"{r['group']}" for r in rows], fontsize=7)
    axes.invert_yaxis()
    axes.set_xlabel("samples / s (training loop after warm-up)")
    axes.legend([plt.Rectangle((0, 0), 1, 1, color=palette[i % len(palette)]) for i in range(len(kernels))],
                kernels, title="kernel backend", fontsize=8)
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
