"""The matrix axes, declared once: config, plan, store, report and CLI all read this table.

A cell is one component per axis at one seed. Adding an axis is one line here (plus the
components registered for it): its [matrix] key, the registry kind its names resolve in, the
heading reports use, and the component a [matrix] block gets when it leaves the axis out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Axis:
    name: str  # the registry kind and the cell's key, e.g. "dataset"
    key: str  # the [matrix] key, e.g. "datasets"
    default: str | None = None  # the component of a block that omits the axis; None = required


AXES: tuple[Axis, ...] = (
    Axis("dataset", "datasets"),
    Axis("model", "models"),
    Axis("objective", "objectives"),
    Axis("optimizer", "optimizers", default="adam"),
    Axis("kernel", "kernels", default="eager"),
)
AXIS_NAMES: tuple[str, ...] = tuple(axis.name for axis in AXES)
