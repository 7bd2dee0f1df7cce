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
def register_optimizers(register):
    """Register optimizers: call register(OptimizerSpec(...)) once per optimizer."""


@hookspec
def register_metrics(register):
    """Register metrics: call register(MetricSpec(...)) once per metric."""


@hookspec
def register_kernels(register):
    """Register kernel backends: call register(KernelSpec(...)) once per backend (its op table)."""


@hookspec
def register_families(register):
    """Register model families: call register(FamilySpec(...)) once per family (its trainer)."""


@hookspec
def register_domains(register):
    """Register data domains: call register(DomainSpec(...)) once per domain (its picture)."""


@hookspec
def register_reporters(register):
    """Register reporters: call register(ReporterSpec(...)) once per output format."""


@hookspec
def register_executors(register):
    """Register executors: call register(ExecutorSpec(...)) once per way of running cells."""
