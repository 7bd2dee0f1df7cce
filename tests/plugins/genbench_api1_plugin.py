"""A plugin that declares it was written for plugin API 1.x: genbench lists it with the changes
since then that touch what it registers, and refuses its components before any work."""

from genbench.plugins.objectives.gan import PARAMS, nonsaturating

from genbench import ObjectiveSpec, hookimpl

GENBENCH_PLUGIN_API = ">=1,<2"


@hookimpl
def register_objectives(register):
    register(ObjectiveSpec("api1-gan", "the non-saturating loss, from a plugin for plugin API 1",
                           nonsaturating, PARAMS, family="gan"))
