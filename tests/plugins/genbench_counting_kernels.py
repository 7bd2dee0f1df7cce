"""A kernel backend from outside genbench: the reference GAN losses, counted.

It provides two ops and leaves the rest (bias_act, batchnorm_act, ...) to the reference, so a
run with it shows both the plugin's ops and the fallbacks in the cell's `kernel_ops`.
"""

from genbench.kernels import reference

from genbench import KernelSpec, hookimpl

CALLS = {"discriminator_loss": 0, "generator_loss": 0}


def counted(name):
    op = reference.OPS[name]

    def run(*args):
        CALLS[name] += 1
        return op(*args)

    return run


@hookimpl
def register_kernels(register):
    register(KernelSpec("counting", "the reference GAN losses, with a call counter",
                        ops={name: counted(name) for name in CALLS}))
