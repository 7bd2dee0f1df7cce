"""An out-of-tree RSGAN plugin written before genbench shipped its own `rsgan`: both now
register the name, so suites tell them apart by qualified name (genbench:rsgan,
genbench-rsgan:rsgan). It also registers `rsgan` a second time by mistake, and `rsgan-exact`
after that: each registration succeeds or fails on its own, so `rsgan-exact` still loads."""

from genbench.plugins.objectives.gan import PARAMS, RELATIVISTIC, rsgan

from genbench import ObjectiveSpec, hookimpl

GENBENCH_PLUGIN_API = ">=2.1,<3"


def rsgan_exact(*, k: int, r1: float, acgan: float):
    return rsgan(k=k, r1=r1, acgan=acgan)


@hookimpl
def register_objectives(register):
    register(ObjectiveSpec("rsgan", "RSGAN as this plugin writes it", rsgan, PARAMS, family="gan",
                           train_defaults=RELATIVISTIC))
    register(ObjectiveSpec("rsgan", "a second rsgan from the same plugin", rsgan, PARAMS, family="gan"))
    register(ObjectiveSpec("rsgan-exact", "RSGAN with the paper's exact settings", rsgan_exact, PARAMS,
                           family="gan", train_defaults=RELATIVISTIC))
