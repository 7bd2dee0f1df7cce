"""The "compiled" backend: fused.py's kernels compiled for the tensors' device.

float32 and float64 CPU tensors run cpu.py's C kernels (one pass per op, built for this CPU).
Everything else (CUDA tensors, other dtypes) runs the torch versions below through torch.compile
(dynamic shapes; inductor emits Triton on CUDA), compiled the first time each runs, never at
import; "auto" sends CUDA tensors to the hand-written Triton kernels instead. Tensors with fewer
than 2 elements run the torch code uncompiled (dynamo would specialise graphs for sizes 0 and 1).

Why C on CPU: inductor computes a loss sum and the elementwise gradient in two loops (the
softplus/sigmoid math twice) and gained little on the channel ops; the C kernels do each op in
one pass (`genbench kernels` shows the difference).

In the torch versions, log1p is evaluated as a short series (log1p(e) = 2 atanh(e / (2 + e))
for e in [0, 1]) instead of the library log1p, which dominates the cost on CPU; it is within 2-3
ulp of torch.log1p.
"""

import functools

import torch
from torch import Tensor

from .cpu import CpuKernels
from .fused import FusedOps, Term


def _log1p_unit(e: Tensor) -> Tensor:
    """log(1 + e) for e in [0, 1]: 2 atanh(t) with t = e / (2 + e) in [0, 1/3], as a series."""
    t = e / (2.0 + e)
    t2 = t * t
    terms = 16 if e.dtype == torch.float64 else 7  # last term below the dtype's epsilon
    p = 1.0 / (2 * terms - 1)
    for j in range(terms - 2, -1, -1):
        p = p * t2 + 1.0 / (2 * j + 1)
    return 2.0 * t * p


def _softplus_sigmoid(u: Tensor) -> tuple[Tensor, Tensor]:
    """(softplus(u), sigmoid(u)) sharing one exp; finite for any finite u, NaN stays NaN."""
    e = torch.exp(-u.abs())
    softplus = torch.clamp_min(u, 0.0) + _log1p_unit(e)
    sigmoid = torch.where(u >= 0, 1.0, e) / (1.0 + e)
    return softplus, sigmoid


# Scalars (k, a, scale, beta, slope, eps) arrive as 0-d tensors: a Python float would be
# specialised into the graph (one recompile per value, and in torch 2.13 a stale constant).

def _softplus_term(x: Tensor, k: Tensor, a: Tensor, scale: Tensor, reduce: bool):
    softplus, sigmoid = _softplus_sigmoid(k * x)  # (N,), (N,)
    terms = a * softplus
    return (terms.sum() if reduce else terms), (a * k * scale) * sigmoid


def _square_term(x: Tensor, c: Tensor, scale: Tensor, reduce: bool):
    d = x - c  # (N,)
    terms = 0.5 * d * d
    return (terms.sum() if reduce else terms), scale * d


def _hinge_term(x: Tensor, k: Tensor, scale: Tensor, reduce: bool):
    m = 1.0 + k * x  # (N,)
    terms = torch.where(m < 0, 0.0, m)  # relu that keeps NaN
    grad = torch.where(m <= 0, 0.0, k * scale)  # torch's relu backward: NaN passes the gradient
    return (terms.sum() if reduce else terms), grad


def _linear_term(x: Tensor, k: Tensor, scale: Tensor, reduce: bool):
    terms = k * x  # (N,)
    return (terms.sum() if reduce else terms), torch.zeros_like(x) + k * scale


def _vae_terms(recon: Tensor, target: Tensor, mu: Tensor, logvar: Tensor, beta: Tensor,
               scale: Tensor, reduce: bool):
    softplus, sigmoid = _softplus_sigmoid(recon)  # (B, D)
    bce = softplus - recon * target  # (B, D)
    var = torch.exp(logvar)  # (B, Z)
    kl = -0.5 * (1.0 + logvar - mu * mu - var)  # (B, Z)
    # a full sum fuses with the gradient into one pass; per-row sums make inductor store an
    # intermediate, so they are only taken when the per-example losses are asked for
    loss = bce.sum() + beta * kl.sum() if reduce else bce.sum(1) + beta * kl.sum(1)
    return (loss, scale * (sigmoid - target), (beta * scale) * mu,
            (0.5 * beta * scale) * (var - 1.0))


def _leaky(z: Tensor, slope: Tensor) -> Tensor:
    return torch.where(z > 0, z, z * slope)


def _bias_act_forward(x: Tensor, bias: Tensor, slope: Tensor) -> Tensor:
    return _leaky(x + bias.view(1, -1, 1), slope)  # (B, C, S)


def _bias_act_grad(grad_y: Tensor, y: Tensor, slope: Tensor):
    grad_x = torch.where(y > 0, grad_y, grad_y * slope)  # (B, C, S)
    return grad_x, grad_x.sum((0, 2))


def _batchnorm_forward(x: Tensor, weight: Tensor, bias: Tensor, eps: Tensor, slope: Tensor):
    var, mean = torch.var_mean(x, dim=(0, 2), correction=0)  # (C,), (C,)
    rstd = torch.rsqrt(var + eps)
    z = (x - mean.view(1, -1, 1)) * (rstd * weight).view(1, -1, 1) + bias.view(1, -1, 1)
    return _leaky(z, slope), mean, var


def _batchnorm_backward(grad_y: Tensor, x: Tensor, mean: Tensor, rstd: Tensor, weight: Tensor,
                        bias: Tensor, slope: Tensor):
    centred = x - mean.view(1, -1, 1)  # (B, C, S)
    z = centred * (rstd * weight).view(1, -1, 1) + bias.view(1, -1, 1)  # as in forward
    dz = torch.where(z > 0, grad_y, grad_y * slope)
    x_hat = centred * rstd.view(1, -1, 1)
    grad_b = dz.sum((0, 2))  # (C,)
    grad_w = (dz * x_hat).sum((0, 2))  # (C,)
    n = x.shape[0] * x.shape[2]
    grad_x = (weight * rstd).view(1, -1, 1) * (
        dz - (grad_b / n).view(1, -1, 1) - x_hat * (grad_w / n).view(1, -1, 1))
    return grad_x, grad_w, grad_b


@functools.cache
def _compile(fn):
    # no fullgraph: past dynamo's recompile limit a kernel falls back to eager instead of failing
    return torch.compile(fn, dynamic=True)


def _graph_input(arg, like: Tensor):
    """Tensors detached (dynamo guards on requires_grad; the kernels run inside
    autograd.Functions anyway), floats as 0-d tensors like `like`, anything else as is."""
    if isinstance(arg, Tensor):
        return arg.detach()
    if isinstance(arg, float):
        return torch.tensor(arg, dtype=like.dtype, device=like.device)
    return arg


def _run(fn, x: Tensor, *args):
    """fn(x, *args) compiled; eager for fewer than 2 elements in x."""
    inputs = [_graph_input(a, x) for a in (x, *args)]
    return (_compile(fn) if x.numel() >= 2 else fn)(*inputs)


class InductorKernels:
    """The fused.Kernels protocol over the torch functions above, through torch.compile."""

    def gan_terms(self, x: Tensor, term: Term, scale: float, reduce: bool):
        if term.op == "softplus":
            return _run(_softplus_term, x, term.k, term.a, scale, reduce)
        fn = {"square": _square_term, "hinge": _hinge_term, "linear": _linear_term}[term.op]
        return _run(fn, x, term.k, scale, reduce)

    def vae_terms(self, recon, target, mu, logvar, beta, scale, reduce):
        return _run(_vae_terms, recon, target, mu, logvar, beta, scale, reduce)

    def bias_act_forward(self, x, bias, slope):
        return _run(_bias_act_forward, x, bias, slope)

    def bias_act_grad(self, grad_y, y, slope):
        return _run(_bias_act_grad, grad_y, y, slope)

    def batchnorm_forward(self, x, weight, bias, eps, slope):
        return _run(_batchnorm_forward, x, weight, bias, eps, slope)

    def batchnorm_backward(self, grad_y, x, mean, rstd, weight, bias, slope):
        return _run(_batchnorm_backward, grad_y, x, mean, rstd, weight, bias, slope)


CPU_DTYPES = (torch.float32, torch.float64)


class CompiledKernels:
    """fused.Kernels: the C kernels for float32/float64 CPU tensors, inductor for the rest."""

    def __init__(self):
        self.cpu, self.inductor = CpuKernels(), InductorKernels()

    def _for(self, x: Tensor):
        return self.cpu if x.device.type == "cpu" and x.dtype in CPU_DTYPES else self.inductor

    def gan_terms(self, x, term, scale, reduce):
        return self._for(x).gan_terms(x, term, scale, reduce)

    def vae_terms(self, recon, target, mu, logvar, beta, scale, reduce):
        return self._for(recon).vae_terms(recon, target, mu, logvar, beta, scale, reduce)

    def bias_act_forward(self, x, bias, slope):
        return self._for(x).bias_act_forward(x, bias, slope)

    def bias_act_grad(self, grad_y, y, slope):
        return self._for(y).bias_act_grad(grad_y, y, slope)

    def batchnorm_forward(self, x, weight, bias, eps, slope):
        return self._for(x).batchnorm_forward(x, weight, bias, eps, slope)

    def batchnorm_backward(self, grad_y, x, mean, rstd, weight, bias, slope):
        return self._for(x).batchnorm_backward(grad_y, x, mean, rstd, weight, bias, slope)


OPS = FusedOps(CompiledKernels())
