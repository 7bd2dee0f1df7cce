"""The matrix axes, declared once: config, plan, store, report and CLI all read this table.

A cell is one component per axis at one seed. Adding an axis is one line here (plus the
components registered for it): its [matrix] key, the registry kind its names resolve in, the
heading reports use, and whether a [matrix] block may leave the axis out (its cells then get the
kind's default component, which its plugin marks).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Axis:
    name: str  # the registry kind and the cell's key, e.g. "dataset"
    key: str  # the [matrix] key, e.g. "datasets"
    # a block may omit it: its cells get the kind's default component (the spec registered with
    # default=True, e.g. the plain-torch kernel backend); otherwise the axis is required
    optional: bool = False


AXES: tuple[Axis, ...] = (
    Axis("dataset", "datasets"),
    Axis("model", "models"),
    Axis("objective", "objectives"),
    Axis("optimizer", "optimizers", optional=True),
    Axis("kernel", "kernels", optional=True),
)
AXIS_NAMES: tuple[str, ...] = tuple(axis.name for axis in AXES)
