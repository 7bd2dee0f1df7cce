"""A plugin that registers a dataset name the built-ins already use."""

from genbench.plugins.datasets.toy2d import INFO, PARAMS, ring8

from genbench import DatasetSpec, hookimpl


@hookimpl
def register_datasets(register):
    register(DatasetSpec("ring8", "a second ring8", ring8, PARAMS, info=INFO))
