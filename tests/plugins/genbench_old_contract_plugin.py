"""A plugin written for plugin API 1.0, before the open core (2026-12-02): its factories take
`backend=` and its objective implements the one-argument `generator_loss(fake_logits)`. It
declares no GENBENCH_PLUGIN_API, as plugins of that time did not. genbench still runs it, with a
deprecation warning naming the new form of each (see genbench.api.compat)."""

from genbench.kernels import functional as K
from genbench.plugins.models.mlp_gan import PARAMS, make_mlp_gan

from genbench import ModelSpec, ObjectiveSpec, Param, hookimpl


class LegacyNonSaturating:
    """The non-saturating GAN loss as plugin API 1.0 spelt it."""

    def __init__(self, k: int, backend: str | None):
        self.d_steps, self.backend = k, backend

    def discriminator_loss(self, real_logits, fake_logits):
        return K.discriminator_loss(real_logits, fake_logits, "nonsaturating")

    def generator_loss(self, fake_logits):  # plugin API 1.0: no real_logits
        return K.generator_loss(fake_logits, "nonsaturating")


def legacy_ns(*, backend: str, k: int) -> LegacyNonSaturating:
    return LegacyNonSaturating(k, backend)


def legacy_mlp(info, *, backend: str, **params):
    return make_mlp_gan(info, **params)


@hookimpl
def register_models(register):
    register(ModelSpec("legacy-mlp", "the mlp model behind a factory taking backend=", legacy_mlp, PARAMS,
                       family="gan"))


@hookimpl
def register_objectives(register):
    register(ObjectiveSpec("legacy-ns", "non-saturating loss with a one-argument generator_loss", legacy_ns,
                           {"k": Param(1, "discriminator steps per generator step", min=1)}, family="gan"))
