"""A plugin that registers a dataset name the built-ins already use: both stay registered, and
suites tell them apart by qualified name (genbench:ring8, genbench-dup:ring8)."""

from genbench.plugins.datasets.toy2d import INFO, PARAMS, ring8

from genbench import DatasetSpec, hookimpl


@hookimpl
def register_datasets(register):
    register(DatasetSpec("ring8", "a second ring8", ring8, PARAMS, info=INFO))
