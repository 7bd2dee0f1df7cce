"""A plugin whose components do not fit the calls genbench makes: an objective factory that
requires an argument nobody passes, a metric factory that does not accept a parameter it
declares, and an objective without the discriminator_loss the GAN trainer calls. Each is refused
before any work, naming the component and the fix."""

from genbench.plugins.objectives.gan import PARAMS, nonsaturating

from genbench import MetricOutput, MetricResult, MetricSpec, ObjectiveSpec, Param, hookimpl


def seeded(*, k: int, r1: float, seed: int):  # `seed` is neither declared nor passed
    return nonsaturating(k=k, r1=r1)


class GeneratorOnly:
    d_steps = 1

    def generator_loss(self, real_logits, fake_logits):
        return -fake_logits.mean()


def constant():  # declares `value` below but does not accept it
    return lambda ctx: MetricResult({"constant": 1.0})


@hookimpl
def register_objectives(register):
    register(ObjectiveSpec("seeded", "needs a seed nobody passes", seeded, PARAMS, family="gan"))
    register(ObjectiveSpec("generator-only", "has no discriminator_loss", GeneratorOnly, family="gan"))


@hookimpl
def register_metrics(register):
    register(MetricSpec("constant", "always 1", constant, {"value": Param(1.0, "the value")},
                        outputs={"constant": MetricOutput(True, "constant")}))
