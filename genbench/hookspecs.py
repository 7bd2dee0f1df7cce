"""The plugin hooks. Each receives a `register` callback; full docs are in docs/plugin_hooks.md."""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("genbench")
hookimpl = pluggy.HookimplMarker("genbench")


@hookspec
def register_datasets(register):
    """Register datasets: call register(DatasetSpec(...)) once per dataset."""


@hookspec
def register_models(register):
    """Register models: call register(ModelSpec(...)) once per model."""


@hookspec
def register_objectives(register):
    """Register training objectives: call register(ObjectiveSpec(...)) once per objective."""


@hookspec
def register_metrics(register):
    """Register metrics: call register(MetricSpec(...)) once per metric."""


@hookspec
def register_kernels(register):
    """Register kernel backends: call register(KernelSpec(...)) once per backend."""


@hookspec
def register_trainers(register):
    """Register family trainers: call register(TrainerSpec(name=family, ...)) once per family."""
