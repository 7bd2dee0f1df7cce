"""genbench: a plugin-based benchmark harness for deep generative models.

Plugin authors need only what is re-exported here: `hookimpl`, the spec types, the errors,
`load_weights` (a torch file users give, read safely) and PLUGIN_API, the plugin API version
(genbench.api.versions; docs/plugin_hooks.md says what each version changed). Importing genbench
also makes the module paths of plugin API 2.0 importable, with a deprecation warning
(genbench.api.compat).
"""

from importlib.metadata import PackageNotFoundError, version

from genbench.api import compat
from genbench.api.errors import ConfigError, DataError, GenbenchError, PluginError, UnknownComponentError
from genbench.api.hookspecs import hookimpl
from genbench.api.specs import (
    Data,
    DataInfo,
    DatasetSpec,
    DomainSpec,
    EvalContext,
    ExecutorSpec,
    FamilySpec,
    KernelSpec,
    MetricOutput,
    MetricResult,
    MetricSpec,
    ModelSpec,
    ObjectiveSpec,
    OptimizerSpec,
    Param,
    ReporterSpec,
    Resume,
    Statistic,
    TrainingDiverged,
    TrainSetup,
    TrainStep,
)
from genbench.api.versions import PLUGIN_API
from genbench.api.weights import load_weights

try:
    __version__ = version("genbench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
compat.install()

__all__ = [
    "ConfigError", "Data", "DataError", "DataInfo", "DatasetSpec", "DomainSpec", "EvalContext",
    "ExecutorSpec", "FamilySpec", "GenbenchError", "KernelSpec", "MetricOutput", "MetricResult",
    "MetricSpec", "ModelSpec", "ObjectiveSpec", "OptimizerSpec", "PLUGIN_API", "Param", "PluginError",
    "ReporterSpec", "Resume", "Statistic", "TrainSetup", "TrainStep", "TrainingDiverged",
    "UnknownComponentError", "__version__", "hookimpl", "load_weights",
]
