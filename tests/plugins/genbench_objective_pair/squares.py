"""The least-squares loss (Mao et al. 2017), genbench's own kernel: a module of its own."""

from genbench.plugins.objectives.gan import GANLoss


def squares(*, k: int) -> GANLoss:
    return GANLoss("lsgan", k)
