"""GAN loss terms from logits: loss and gradient in one pass over the flat logits.

Each program handles BLOCK elements: it writes scale * t'(x) for them and, when reducing, one
partial sum of t(x) (no atomics); the host sums the partials (deterministic). The term t is one
of fused.Term's ops, chosen at compile time.
"""

import torch
import triton
import triton.language as tl
from torch import Tensor

from ..fused import Term
from .common import BLOCK, compute_dtype, scalars, softplus_sigmoid, warps

OPS = {"softplus": 0, "square": 1, "hinge": 2, "linear": 3}


@triton.jit
def _gan_terms_kernel(x_ptr, params_ptr, out_ptr, grad_ptr, n,
                      OP: tl.constexpr, REDUCE: tl.constexpr, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)  # (BLOCK,)
    mask = offs < n
    k = tl.load(params_ptr)  # sign / offset of the term, in the compute dtype
    a = tl.load(params_ptr + 1)  # outer factor (softplus only)
    scale = tl.load(params_ptr + 2)  # 1/N for a mean, else 1
    x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(k.dtype)  # masked lanes compute on 0
    if OP == 0:  # a * softplus(k x)
        softplus, sigmoid = softplus_sigmoid(k * x)
        terms = a * softplus
        grad = (a * k * scale) * sigmoid
    elif OP == 1:  # 0.5 (x - k)^2
        d = x - k
        terms = 0.5 * d * d
        grad = scale * d
    elif OP == 2:  # relu(1 + k x); NaN keeps its value and passes the gradient, as in torch
        m = 1.0 + k * x
        terms = tl.where(m < 0, 0.0, m)
        grad = tl.where(m <= 0, 0.0, k * scale)
    else:  # k x
        terms = k * x
        grad = tl.zeros_like(x) + k * scale
    tl.store(grad_ptr + offs, grad, mask=mask)
    if REDUCE:
        tl.store(out_ptr + pid, tl.sum(tl.where(mask, terms, 0.0), axis=0))
    else:
        tl.store(out_ptr + offs, terms, mask=mask)


def gan_terms(x: Tensor, term: Term, scale: float, reduce: bool) -> tuple[Tensor, Tensor]:
    """x (N,) contiguous -> (0-d sum of t(x) if reduce else t(x) (N,), scale * t'(x) (N,))."""
    n = x.numel()
    programs = triton.cdiv(n, BLOCK)
    grad = torch.empty_like(x)  # (N,)
    if reduce:
        out = torch.zeros(programs, dtype=compute_dtype(x.dtype), device=x.device)  # partials
    else:
        out = torch.empty_like(x)  # (N,)
    if n > 0:
        params = scalars(x, term.k, term.a, scale)
        _gan_terms_kernel[(programs,)](x, params, out, grad, n, OP=OPS[term.op], REDUCE=reduce,
                                       BLOCK=BLOCK, num_warps=warps(BLOCK))
    return (out.sum().to(x.dtype) if reduce else out), grad
