"""The Triton op table: fused.py's autograd.Functions over the launchers."""

from ..fused import FusedOps
from .batchnorm_act import batchnorm_backward, batchnorm_forward
from .bias_act import bias_act_forward, bias_act_grad
from .gan_loss import gan_terms
from .vae_loss import vae_terms


class TritonKernels:
    """The fused.Kernels protocol over the Triton launchers."""

    gan_terms = staticmethod(gan_terms)
    vae_terms = staticmethod(vae_terms)
    bias_act_forward = staticmethod(bias_act_forward)
    bias_act_grad = staticmethod(bias_act_grad)
    batchnorm_forward = staticmethod(batchnorm_forward)
    batchnorm_backward = staticmethod(batchnorm_backward)


OPS = FusedOps(TritonKernels()).table()
