"""A GAN model that misbehaves on purpose, for the worker-supervision tests (tests/test_workers.py).

`misbehaving` is the `mlp` GAN whose generator, on its first forward pass, does what `how` says:
"crash" (a segfault), "hang" (sleeps forever), "leak" (holds 64 MiB more at every forward pass,
up to `leak_cap_mib`, then hangs) or "none". With `pidfile`, it writes its process id there
first, so a test can find the worker running it.
"""

import os
import signal
import time

import torch
from genbench.plugins.models.mlp_gan import PARAMS, make_mlp_gan

from genbench import ModelSpec, Param, hookimpl

LEAK_STEP = 64 * 2**20  # bytes held per forward pass
_leaked: list[torch.Tensor] = []


class Misbehaving(torch.nn.Module):
    def __init__(self, generator: torch.nn.Module, how: str, pidfile: str, leak_cap_mib: int):
        super().__init__()
        self.generator, self.how, self.pidfile, self.leak_cap = generator, how, pidfile, leak_cap_mib * 2**20

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # (B, z_dim) -> (B, *shape)
        if self.pidfile:
            with open(self.pidfile + ".tmp", "w") as file:
                file.write(str(os.getpid()))
            os.replace(self.pidfile + ".tmp", self.pidfile)  # whole, or not there yet
        print(f"misbehaving: {self.how}", flush=True)
        if self.how == "crash":
            os.kill(os.getpid(), signal.SIGSEGV)
        if self.how == "leak":
            while LEAK_STEP * len(_leaked) < self.leak_cap:
                _leaked.append(torch.ones(LEAK_STEP // 4))  # touched, so resident
                time.sleep(0.05)
        if self.how in ("hang", "leak"):
            while True:
                time.sleep(1)
        return self.generator(z)


def make_misbehaving(info, *, how: str, pidfile: str, leak_cap_mib: int, **mlp):
    model = make_mlp_gan(info, **mlp)
    model.generator = Misbehaving(model.generator, how, pidfile, leak_cap_mib)
    return model


@hookimpl
def register_models(register):
    params = {**PARAMS,
              "how": Param("none", "what the generator does", choices=("none", "crash", "hang", "leak")),
              "pidfile": Param("", "write the process id here first (empty: nowhere)"),
              "leak_cap_mib": Param(3072, "stop leaking here and hang", min=1)}
    register(ModelSpec("misbehaving", "the mlp GAN, misbehaving on purpose (tests)", make_misbehaving, params,
                       family="gan"))
