"""TensorBoard logs, one run per cell: every metric and training statistic as a scalar at each
eval step (eval/<name>, train/<name>), the sample picture of each eval step as an image
(`samples`), and the cell's configuration and status as text.

`genbench run SUITE --log tensorboard` writes each cell as the driver records it;
`genbench export DIR --format tensorboard` writes every cell already in a store. Runs go to
OUT/tensorboard/<suite>/<dataset>/<model>/<objective>/<optimizer>/<kernel>/seedN; view them with
`tensorboard --logdir OUT/tensorboard`. Needs the optional extra: pip install genbench[tensorboard].
The log folder holds event files only: one that is a symbolic link, holds a link or another file
is refused before anything is written (genbench.results.files), and a run written again
replaces only its own event files.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from genbench import Param, PluginError, ReporterSpec, hookimpl
from genbench.results.files import check_tree, clear_folder

FOLDER = "tensorboard"
EVENTS = "TensorBoard event files"


def is_events(name: str) -> bool:
    """Whether a file name is one of the event files a SummaryWriter writes."""
    return name.startswith("events.out.tfevents.")


def summary_writer():
    """torch's SummaryWriter class; PluginError with the fix when tensorboard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        raise PluginError(f"the tensorboard reporter needs the tensorboard package ({exc}); "
                          "fix: pip install 'genbench[tensorboard]'") from None
    return SummaryWriter


def run_dir(root: Path, suite: str, group: Iterable[str], seed: int) -> Path:
    """root/<suite>/<one folder per axis label>/seedN, each label made a safe folder name."""
    parts = [suite, *group, f"seed{seed}"]
    return root.joinpath(*(re.sub(r"[^\w.,=()+-]", "_", part).lstrip(".") or "_" for part in parts))


def write_run(root: Path, path: Path, config: dict, status: str, error: str | None,
              scalars: Iterable[tuple[int, str, float]], pictures: Iterable[tuple[int, bytes]]) -> None:
    """One cell's run at `path` under `root`, replacing the event files of an earlier run of it
    (a re-run or resumed cell)."""
    writer_class = summary_writer()
    clear_folder(root, path, is_events, EVENTS)
    writer = writer_class(log_dir=str(path))
    try:
        writer.add_text("config", f"```\n{json.dumps(config, indent=2)}\n```", 0)
        writer.add_text("status", status + (f"\n\n```\n{error}\n```" if error else ""), 0)
        for step, tag, value in scalars:
            writer.add_scalar(tag, value, step)
        for step, png in pictures:
            picture = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))  # (H, W, 3) uint8
            writer.add_image("samples", picture, step, dataformats="HWC")
    finally:
        writer.close()


def _tag(name: str, provenance: dict) -> str:
    return f"{'train' if provenance.get('source') == 'train' else 'eval'}/{name}"


class TensorBoardLogger:
    """`--log tensorboard`: each finished cell becomes a run under OUT/tensorboard."""

    def __init__(self, out_dir: Path):
        summary_writer()  # refuse now, before any cell runs, when tensorboard is missing
        self.root = check_tree(Path(out_dir) / FOLDER, is_events, EVENTS)  # ... or its folder is not ours

    def on_result(self, cell, result) -> None:
        write_run(self.root, run_dir(self.root, cell.suite, cell.group, cell.seed), cell.resolved(), result.status,
                  result.error, ((m.step, _tag(m.name, m.provenance), m.value) for m in result.metrics),
                  ((a.step, a.data) for a in result.artifacts if a.kind == "samples"))

    def close(self) -> None:
        """Nothing held: each run's writer is closed once its cell is written."""


def export(view, *, dir: str) -> str:
    """Every cell of the results (of one suite) as a run; returns what was written."""
    results = view.results
    root = Path(dir) if dir else results.directory / FOLDER
    summary_writer()
    check_tree(root, is_events, EVENTS)
    written = 0
    for suite in results.suites:
        for cell in results.of_suite(suite).cells:
            if cell.status == "running":
                continue
            values = [v for v in results.by_cell.get(cell.cell_id, ()) if v.source != "run"]
            pictures = [(a.step, (results.directory / a.path).read_bytes()) for a in cell.artifacts
                        if a.kind == "samples"]
            write_run(root, run_dir(root, suite, cell.group, cell.seed), cell.config, cell.status, cell.error,
                      ((v.step, _tag(v.name, v.provenance), v.value) for v in values), pictures)
            written += 1
    return f"wrote {written} TensorBoard runs to {root}; view them with: tensorboard --logdir {root}\n"


@hookimpl
def register_reporters(register):
    register(ReporterSpec("tensorboard", "TensorBoard event files, one run per cell (scalars, sample pictures); "
                          "live with `genbench run --log tensorboard`", export,
                          {"dir": Param("", "the log folder (default: RESULTS/tensorboard)")},
                          logger=TensorBoardLogger))
