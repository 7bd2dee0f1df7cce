"""A plugin that registers malformed specs: a bad name and a model passed as a dataset."""

from genbench import ModelSpec, hookimpl


@hookimpl
def register_datasets(register):
    register(ModelSpec("not-a-dataset", "a model in the dataset hook", factory=lambda: None, family="gan"))


@hookimpl
def register_models(register):
    register(ModelSpec("Bad Name", "spaces and capitals are not allowed", factory=lambda: None, family="gan"))
