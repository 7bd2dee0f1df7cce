"""How a sensitive (or nuisance) attribute s travels with a dataset. Not a plugin itself (it
registers nothing).

A dataset with one puts it in `Data.extras`: "sensitive" (N,) and "test_sensitive" (M,), int64
in {0, 1}, one per training and test example, and declares both keys in `DataInfo.extras`, so a
model or metric that needs s (the vfae family, the fairness metric) refuses any other dataset
before work starts. s is never part of the examples x themselves.

The fairness study is about a binary decision y. For a dataset with more than two classes the
task is `label >= ceil(K / 2)` (digits: y = 1 for 5..9), for two classes the label itself.
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch

from genbench import DataInfo

SENSITIVE = "sensitive"
TEST_SENSITIVE = "test_sensitive"
KEYS = (SENSITIVE, TEST_SENSITIVE)


def with_sensitive(info: DataInfo) -> DataInfo:
    """info with the sensitive attribute's keys among its extras."""
    return replace(info, extras=(*info.extras, *KEYS))


def missing_sensitive(info: DataInfo) -> str | None:
    """Why a dataset cannot serve a fairness study (no s, or no labels), or None."""
    if not set(KEYS) <= set(info.extras):
        return ("the dataset has no sensitive attribute s (its DataInfo.extras lack 'sensitive'); use "
                "digits-tinted, mnist5k-tinted or csv (with sensitive = the column)")
    if info.n_classes is None:
        return "the dataset has no labels y; use a labelled dataset with a sensitive attribute"
    return None


def binary_task(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """The binary decision y (N,) int64 in {0, 1} from class labels (N,) in 0..K-1."""
    if n_classes <= 2:
        return labels.long()
    return (labels >= math.ceil(n_classes / 2)).long()
