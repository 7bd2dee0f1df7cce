"""autograd.Functions shared by the fused backends (compiled.py and triton/).

A backend supplies kernels (the `Kernels` protocol below, or the part of it for the ops it
provides); `FusedOps(kernels).table(names)` wraps them into an op table with the signatures of
reference.py. Keeping the autograd logic in one place means every backend saves the same tensors
and has the same backward semantics:

- GAN and VAE losses compute the gradient in the forward pass (one read of the logits); backward
  only multiplies it by grad_output.
- bias_act saves only its output (the activation's sign is the pre-activation's for slope >= 0);
  its backward is itself an autograd.Function, so gradient penalties can differentiate through it.
- batchnorm_act saves only its input and per-channel statistics, recomputing the normalised
  value in backward; it is differentiable once (generator blocks need no double backward).
"""

import math
from collections.abc import Callable, Iterable
from typing import NamedTuple, Protocol

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable


class Term(NamedTuple):
    """One elementwise loss term t(x) and its derivative:
    softplus: a * softplus(k x); square: 0.5 (x - k)^2; hinge: relu(1 + k x); linear: k x."""
    op: str
    k: float
    a: float = 1.0


# discriminator (real term, fake term) and generator term for each GAN loss kind
D_TERMS = {
    "saturating": (Term("softplus", -1.0), Term("softplus", 1.0)),
    "nonsaturating": (Term("softplus", -1.0), Term("softplus", 1.0)),
    "lsgan": (Term("square", 1.0), Term("square", 0.0)),
    "hinge": (Term("hinge", -1.0), Term("hinge", 1.0)),
    "wasserstein": (Term("linear", -1.0), Term("linear", 1.0)),
}
G_TERMS = {
    "saturating": Term("softplus", 1.0, -1.0),
    "nonsaturating": Term("softplus", -1.0),
    "lsgan": Term("square", 1.0),
    "hinge": Term("linear", -1.0),
    "wasserstein": Term("linear", -1.0),
}


class Kernels(Protocol):
    """What a fused backend implements. All tensors arrive contiguous."""

    def gan_terms(self, x: Tensor, term: Term, scale: float, reduce: bool) -> tuple[Tensor, Tensor]:
        """x (N,) -> (sum of t(x) as a 0-d tensor if reduce else t(x) (N,), scale * t'(x) (N,))."""

    def vae_terms(self, recon: Tensor, target: Tensor, mu: Tensor, logvar: Tensor, beta: float,
                  scale: float, reduce: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """recon, target (B, D); mu, logvar (B, Z) -> (the 0-d sum of the per-example losses if
        reduce, else the per-example losses (B,); scale * the gradients of their sum for
        recon (B, D), mu (B, Z), logvar (B, Z))."""

    def bias_act_forward(self, x: Tensor, bias: Tensor, slope: float) -> Tensor:
        """x (B, C, S), bias (C,) -> leaky_relu(x + bias, slope) (B, C, S)."""

    def bias_act_grad(self, grad_y: Tensor, y: Tensor, slope: float) -> tuple[Tensor, Tensor]:
        """grad_y, y (B, C, S) -> grad_x = grad_y * (1 if y > 0 else slope) (B, C, S), and its
        sum over dims 0 and 2 (C,)."""

    def batchnorm_forward(self, x: Tensor, weight: Tensor, bias: Tensor, eps: float,
                          slope: float) -> tuple[Tensor, Tensor, Tensor]:
        """x (B, C, S) -> (y (B, C, S), mean (C,), biased var (C,)) with
        z = (x - mean) * (rstd * weight) + bias, y = leaky_relu(z, slope)."""

    def batchnorm_backward(self, grad_y: Tensor, x: Tensor, mean: Tensor, rstd: Tensor,
                           weight: Tensor, bias: Tensor, slope: float
                           ) -> tuple[Tensor, Tensor, Tensor]:
        """-> (grad_x (B, C, S), grad_weight (C,), grad_bias (C,))."""


def _scale(grad: Tensor, grad_output: Tensor, reduce: bool) -> Tensor:
    """grad * grad_output; a per-example grad_output (B,) broadcasts over grad (B, ...)."""
    if not reduce:
        grad_output = grad_output.view([-1] + [1] * (grad.ndim - 1))
    return grad * grad_output


def _records_grad(*tensors: Tensor) -> bool:
    """True when autograd records ops on these tensors (grad mode on, one requires grad)."""
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def _as_bcs(x: Tensor) -> Tensor:
    """(B, C, ...) -> contiguous (B, C, S) with S the product of the trailing dims (1 if none)."""
    return x.contiguous().view(x.shape[0], x.shape[1], math.prod(x.shape[2:]))


def _bias_act_forward(x: Tensor, bias: Tensor, slope: float, kernels: Kernels) -> Tensor:
    """x (B, C, ...), bias (C,) -> act(x + bias) as (B, C, S)."""
    return kernels.bias_act_forward(_as_bcs(x), bias.contiguous(), slope)


class GanTerms(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, term: Term, reduction: str, kernels: Kernels):
        flat = x.contiguous().view(-1)  # (N,)
        n = flat.numel()
        reduce = reduction != "none"
        scale = 1.0 / n if reduction == "mean" and n > 0 else 1.0
        out, grad = kernels.gan_terms(flat, term, scale, reduce)
        grad = grad.view_as(x)
        ctx.save_for_backward(grad)
        if not reduce:
            return out.view_as(x)
        return out / n if reduction == "mean" else out  # mean of nothing is NaN, as in torch

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        (grad,) = ctx.saved_tensors
        return grad * grad_output, None, None, None


class VaeLoss(torch.autograd.Function):
    @staticmethod
    def forward(ctx, recon: Tensor, target: Tensor, mu: Tensor, logvar: Tensor, beta: float,
                reduction: str, kernels: Kernels):
        batch = recon.shape[0]
        recon2 = recon.contiguous().view(batch, math.prod(recon.shape[1:]))  # (B, D)
        target2 = target.detach().to(recon.dtype).contiguous().view_as(recon2)  # (B, D)
        mu2 = mu.contiguous().view(batch, math.prod(mu.shape[1:]))  # (B, Z)
        logvar2 = logvar.contiguous().view_as(mu2)  # (B, Z)
        scale = 1.0 / batch if reduction == "mean" and batch > 0 else 1.0
        reduce = reduction != "none"
        out, g_recon, g_mu, g_logvar = kernels.vae_terms(recon2, target2, mu2, logvar2, beta,
                                                         scale, reduce)
        grads = (g_recon.view_as(recon), g_mu.view_as(mu), g_logvar.view_as(logvar))
        ctx.save_for_backward(*grads)
        ctx.reduce = reduce
        return out / batch if reduction == "mean" else out  # mean of nothing is NaN

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        g_recon, g_mu, g_logvar = (_scale(g, grad_output, ctx.reduce) for g in ctx.saved_tensors)
        return g_recon, None, g_mu, g_logvar, None, None, None


class BiasAct(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, bias: Tensor, slope: float, kernels: Kernels):
        y = _bias_act_forward(x, bias, slope, kernels)  # (B, C, S)
        ctx.save_for_backward(y)
        ctx.slope, ctx.kernels = slope, kernels
        return y.view_as(x)

    @staticmethod
    def backward(ctx, grad_output: Tensor):
        (y,) = ctx.saved_tensors
        grad_y = grad_output.contiguous().view_as(y)  # (B, C, S)
        if torch.is_grad_enabled():  # backward(create_graph=True): record for double backward
            grad_x, grad_bias = BiasActGrad.apply(grad_y, y, ctx.slope, ctx.kernels)
        else:  # the usual backward: skip the autograd.Function's bookkeeping
            grad_x, grad_bias = ctx.kernels.bias_act_grad(grad_y, y, ctx.slope)
        return grad_x.view_as(grad_output), grad_bias, None, None


class BiasActGrad(torch.autograd.Function):
    """(grad_y, y) -> (grad_x, grad_bias): linear in grad_y, piecewise constant in y."""

    @staticmethod
    def forward(ctx, grad_y: Tensor, y: Tensor, slope: float, kernels: Kernels):
        ctx.save_for_backward(y)
        ctx.slope, ctx.kernels = slope, kernels
        return kernels.bias_act_grad(grad_y, y, slope)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_grad_x: Tensor, grad_grad_bias: Tensor):
        (y,) = ctx.saved_tensors
        gg = (grad_grad_x + grad_grad_bias.view(1, -1, 1)).contiguous()  # (B, C, S)
        grad_grad_y, _ = ctx.kernels.bias_act_grad(gg, y, ctx.slope)
        return grad_grad_y, None, None, None


class BatchNormAct(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor, eps: float, slope: float,
                kernels: Kernels):
        x3 = _as_bcs(x)  # (B, C, S)
        weight, bias = weight.contiguous(), bias.contiguous()
        y, mean, var = kernels.batchnorm_forward(x3, weight, bias, eps, slope)  # y (B, C, S)
        rstd = torch.rsqrt(var + eps)  # (C,)
        ctx.save_for_backward(x3, mean, rstd, weight, bias)
        ctx.slope, ctx.kernels = slope, kernels
        ctx.mark_non_differentiable(mean, var)
        return y.view_as(x), mean, var

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor, _grad_mean, _grad_var):
        x3, mean, rstd, weight, bias = ctx.saved_tensors
        grad_y = grad_output.contiguous().view_as(x3)  # (B, C, S)
        grad_x, grad_w, grad_b = ctx.kernels.batchnorm_backward(grad_y, x3, mean, rstd, weight,
                                                                bias, ctx.slope)
        return grad_x.view_as(grad_output), grad_w, grad_b, None, None, None


LOSS_OPS = ("discriminator_loss", "generator_loss", "vae_loss")
OPS = (*LOSS_OPS, "bias_act", "batchnorm_act_with_stats")


class FusedOps:
    """The ops of reference.py (same names and arguments) over one backend's kernels."""

    def __init__(self, kernels: Kernels):
        self.kernels = kernels

    def discriminator_loss(self, real: Tensor, fake: Tensor, kind: str, reduction: str):
        real_term, fake_term = D_TERMS[kind]
        real_out = GanTerms.apply(real, real_term, reduction, self.kernels)
        fake_out = GanTerms.apply(fake, fake_term, reduction, self.kernels)
        return (real_out, fake_out) if reduction == "none" else real_out + fake_out

    def generator_loss(self, fake: Tensor, kind: str, reduction: str) -> Tensor:
        return GanTerms.apply(fake, G_TERMS[kind], reduction, self.kernels)

    def vae_loss(self, recon_logits: Tensor, target: Tensor, mu: Tensor, logvar: Tensor,
                 beta: float, reduction: str) -> Tensor:
        return VaeLoss.apply(recon_logits, target, mu, logvar, beta, reduction, self.kernels)

    def bias_act(self, x: Tensor, bias: Tensor, activation: str, negative_slope: float) -> Tensor:
        if not _records_grad(x, bias):  # e.g. sampling: skip the autograd.Function's overhead
            return _bias_act_forward(x, bias, negative_slope, self.kernels).view_as(x)
        return BiasAct.apply(x, bias, negative_slope, self.kernels)

    def batchnorm_act_with_stats(self, x: Tensor, weight: Tensor, bias: Tensor, eps: float,
                                 activation: str, negative_slope: float):
        if not _records_grad(x, weight, bias):
            y, mean, var = self.kernels.batchnorm_forward(_as_bcs(x), weight.contiguous(),
                                                          bias.contiguous(), eps, negative_slope)
            return y.view_as(x), mean, var
        return BatchNormAct.apply(x, weight, bias, eps, negative_slope, self.kernels)

    def table(self, names: Iterable[str] = OPS) -> dict[str, Callable]:
        """The op table {name: method} for the ops in `names` (the kernels they need must exist)."""
        return {name: getattr(self, name) for name in names}
