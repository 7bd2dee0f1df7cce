"""Bias + LeakyReLU/ReLU: forward over the flat tensor, backward per channel.

Forward: y = leaky_relu(x + bias[c], slope) over the flat (B, C, S) tensor. Backward:
grad_x = grad_y * (1 if y > 0 else slope), with each program also writing one partial sum of
grad_x for its channel, which the host sums into grad_bias (deterministic, no atomics).
"""

import torch
import triton
import triton.language as tl
from torch import Tensor

from .common import BLOCK, channel_offsets, compute_dtype, leaky, reduction_block, scalars, warps


@triton.jit
def _bias_act_forward_kernel(x_ptr, bias_ptr, params_ptr, y_ptr, n, channels, inner,
                             BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)  # (BLOCK,)
    mask = offs < n
    slope = tl.load(params_ptr)
    channel = (offs // inner) % channels
    x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(slope.dtype)
    bias = tl.load(bias_ptr + channel, mask=mask, other=0.0).to(slope.dtype)
    tl.store(y_ptr + offs, leaky(x + bias, slope), mask=mask)


@triton.jit
def _bias_act_grad_kernel(grad_y_ptr, y_ptr, params_ptr, grad_x_ptr, partial_ptr, count,
                          channels, inner, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    _, offs, mask = channel_offsets(pid, count, channels, inner, BLOCK)  # (BLOCK,)
    slope = tl.load(params_ptr)
    grad_y = tl.load(grad_y_ptr + offs, mask=mask, other=0.0).to(slope.dtype)
    y = tl.load(y_ptr + offs, mask=mask, other=0.0).to(slope.dtype)
    grad_x = tl.where(y > 0, grad_y, grad_y * slope)
    tl.store(grad_x_ptr + offs, grad_x, mask=mask)
    tl.store(partial_ptr + pid, tl.sum(tl.where(mask, grad_x, 0.0), axis=0))


def bias_act_forward(x: Tensor, bias: Tensor, slope: float) -> Tensor:
    """x (B, C, S), bias (C,) contiguous -> leaky_relu(x + bias, slope) (B, C, S)."""
    y = torch.empty_like(x)
    if x.numel() > 0:
        _, channels, inner = x.shape
        _bias_act_forward_kernel[(triton.cdiv(x.numel(), BLOCK),)](
            x, bias, scalars(x, slope), y, x.numel(), channels, inner, BLOCK=BLOCK,
            num_warps=warps(BLOCK))
    return y


def bias_act_grad(grad_y: Tensor, y: Tensor, slope: float) -> tuple[Tensor, Tensor]:
    """grad_y, y (B, C, S) contiguous -> (grad_x (B, C, S), grad_bias (C,))."""
    batch, channels, inner = y.shape
    count = batch * inner
    block = reduction_block(count)
    grad_x = torch.empty_like(grad_y)
    partials = torch.zeros(channels, triton.cdiv(count, block),
                           dtype=compute_dtype(grad_y.dtype), device=grad_y.device)
    if partials.numel() > 0:
        _bias_act_grad_kernel[(partials.numel(),)](grad_y, y, scalars(grad_y, slope), grad_x,
                                                   partials, count, channels, inner, BLOCK=block,
                                                   num_warps=warps(block))
    return grad_x, partials.sum(1).to(grad_y.dtype)
