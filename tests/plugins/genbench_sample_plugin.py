"""A well-behaved third-party plugin: a dataset, and two objectives used to test failure paths.

`blobs` is a 2D mixture a user might add; `explode` is the non-saturating loss that turns NaN
after `after` generator steps (divergence handling); `broken-data` raises when loaded (failure
handling).
"""

import torch
from genbench.plugins.objectives.gan import GANLoss

from genbench import Data, DataInfo, DatasetSpec, ObjectiveSpec, Param, hookimpl

INFO = DataInfo(domain="points", shape=(2,), extras=("modes", "sd"))


def blobs(n: int) -> Data:
    generator = torch.Generator().manual_seed(0)
    modes = torch.tensor([[-1.0, 0.0], [1.0, 0.0]])  # (2, 2)
    points = modes[torch.randint(2, (n,), generator=generator)] + 0.05 * torch.randn(n, 2, generator=generator)
    return Data(INFO, train=points, extras={"modes": modes, "sd": 0.05})


def broken_data() -> Data:
    raise RuntimeError("this dataset always fails to load")


class ExplodingLoss(GANLoss):
    def __init__(self, after: int):
        super().__init__("nonsaturating", 1)
        self.after, self.calls = after, 0

    def generator_loss(self, real_logits, fake_logits):
        self.calls += 1
        loss = super().generator_loss(real_logits, fake_logits)
        return loss * float("nan") if self.calls > self.after else loss


def explode(*, after: int) -> ExplodingLoss:
    return ExplodingLoss(after)


@hookimpl
def register_datasets(register):
    register(DatasetSpec("blobs", "two Gaussian blobs", blobs, {"n": Param(512, "points", min=1)}, info=INFO))
    register(DatasetSpec("broken-data", "a dataset that fails to load", broken_data, info=INFO))


@hookimpl
def register_objectives(register):
    register(ObjectiveSpec("explode", "non-saturating until NaN after `after` steps", explode,
                           {"after": Param(5, "generator steps before the loss turns NaN", min=0)}, family="gan"))
