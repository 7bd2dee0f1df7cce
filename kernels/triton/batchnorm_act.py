"""BatchNorm (training-mode batch statistics) + LeakyReLU/ReLU, forward and backward.

Forward: two per-channel reductions (the mean, then the centred sum of squares: stable for data
far from zero), then one flat pass y = leaky((x - mean) * rstd * weight + bias). Backward: one
per-channel reduction of dz and dz * x_hat (dz: grad_y through the activation, recomputed from x),
then one flat pass for grad_x. Every reduction writes per-program partial sums that the host adds
(deterministic, no atomics). Per-channel vectors travel as the rows of one `stats` tensor.
"""

import torch
import triton
import triton.language as tl
from torch import Tensor

from .common import BLOCK, channel_offsets, compute_dtype, leaky, reduction_block, scalars, warps

# rows of the per-channel `stats` tensor (R, C), in the compute dtype; SCALE = rstd * weight
MEAN, SCALE, SHIFT, RSTD, GRAD_B_MEAN, GRAD_W_MEAN = (tl.constexpr(i) for i in range(6))


@triton.jit
def _channel_sum_kernel(x_ptr, stats_ptr, partial_ptr, count, channels, inner,
                        CENTRED: tl.constexpr, BLOCK: tl.constexpr):
    """Partial sums of x, or of (x - mean)^2 when CENTRED, per (channel, block) program."""
    pid = tl.program_id(0)
    channel, offs, mask = channel_offsets(pid, count, channels, inner, BLOCK)  # (BLOCK,)
    mean = tl.load(stats_ptr + MEAN * channels + channel)
    x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(mean.dtype)
    if CENTRED:
        x = (x - mean) * (x - mean)
    tl.store(partial_ptr + pid, tl.sum(tl.where(mask, x, 0.0), axis=0))


@triton.jit
def _normalise(x_ptr, stats_ptr, offs, mask, channel, channels):
    """(z, x_hat) at offs: z = (x - mean) * rstd * weight + bias, x_hat = (x - mean) * rstd.
    `channel` is a scalar or a block, always in range (masked lanes too), so stats need no mask."""
    mean = tl.load(stats_ptr + MEAN * channels + channel)
    scale = tl.load(stats_ptr + SCALE * channels + channel)
    shift = tl.load(stats_ptr + SHIFT * channels + channel)
    rstd = tl.load(stats_ptr + RSTD * channels + channel)
    centred = tl.load(x_ptr + offs, mask=mask, other=0.0).to(mean.dtype) - mean
    return centred * scale + shift, centred * rstd


@triton.jit
def _apply_kernel(x_ptr, stats_ptr, params_ptr, y_ptr, n, channels, inner, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)  # (BLOCK,)
    mask = offs < n
    channel = (offs // inner) % channels
    z, _ = _normalise(x_ptr, stats_ptr, offs, mask, channel, channels)
    tl.store(y_ptr + offs, leaky(z, tl.load(params_ptr)), mask=mask)


@triton.jit
def _backward_reduce_kernel(grad_y_ptr, x_ptr, stats_ptr, params_ptr, partial_b_ptr,
                            partial_w_ptr, count, channels, inner, BLOCK: tl.constexpr):
    """Partial sums of dz (-> grad_bias) and dz * x_hat (-> grad_weight) per program."""
    pid = tl.program_id(0)
    channel, offs, mask = channel_offsets(pid, count, channels, inner, BLOCK)  # (BLOCK,)
    slope = tl.load(params_ptr)
    z, x_hat = _normalise(x_ptr, stats_ptr, offs, mask, channel, channels)
    grad_y = tl.load(grad_y_ptr + offs, mask=mask, other=0.0).to(slope.dtype)
    dz = tl.where(mask, tl.where(z > 0, grad_y, grad_y * slope), 0.0)
    tl.store(partial_b_ptr + pid, tl.sum(dz, axis=0))
    tl.store(partial_w_ptr + pid, tl.sum(dz * x_hat, axis=0))


@triton.jit
def _backward_apply_kernel(grad_y_ptr, x_ptr, stats_ptr, params_ptr, grad_x_ptr, n, channels,
                           inner, BLOCK: tl.constexpr):
    """grad_x = rstd * weight * (dz - mean(dz) - x_hat * mean(dz * x_hat))."""
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)  # (BLOCK,)
    mask = offs < n
    channel = (offs // inner) % channels
    slope = tl.load(params_ptr)
    z, x_hat = _normalise(x_ptr, stats_ptr, offs, mask, channel, channels)
    grad_y = tl.load(grad_y_ptr + offs, mask=mask, other=0.0).to(slope.dtype)
    dz = tl.where(z > 0, grad_y, grad_y * slope)
    scale = tl.load(stats_ptr + SCALE * channels + channel)
    grad_b_mean = tl.load(stats_ptr + GRAD_B_MEAN * channels + channel)
    grad_w_mean = tl.load(stats_ptr + GRAD_W_MEAN * channels + channel)
    tl.store(grad_x_ptr + offs, scale * (dz - grad_b_mean - x_hat * grad_w_mean), mask=mask)


def _channel_sum(x: Tensor, stats: Tensor, centred: bool) -> Tensor:
    """x (B, C, S) -> per-channel sum of x, or of (x - stats row MEAN)^2 when centred: (C,)."""
    batch, channels, inner = x.shape
    count = batch * inner
    block = reduction_block(count)
    partials = torch.empty(channels, triton.cdiv(count, block), dtype=stats.dtype,
                           device=x.device)
    _channel_sum_kernel[(partials.numel(),)](x, stats, partials, count, channels, inner,
                                             CENTRED=centred, BLOCK=block, num_warps=warps(block))
    return partials.sum(1)


def batchnorm_forward(x: Tensor, weight: Tensor, bias: Tensor, eps: float, slope: float):
    """x (B, C, S) contiguous -> (y (B, C, S), mean (C,), biased var (C,))."""
    batch, channels, inner = x.shape
    count = batch * inner  # > 1, checked by functional
    acc = compute_dtype(x.dtype)
    mean = _channel_sum(x, torch.zeros(1, channels, dtype=acc, device=x.device),
                        centred=False) / count  # (C,)
    var = _channel_sum(x, mean[None], centred=True) / count  # (C,)
    rstd = torch.rsqrt(var + eps)
    stats = torch.stack([mean, rstd * weight.to(acc), bias.to(acc), rstd])  # (4, C)
    y = torch.empty_like(x)
    _apply_kernel[(triton.cdiv(x.numel(), BLOCK),)](x, stats, scalars(x, slope), y, x.numel(),
                                                   channels, inner, BLOCK=BLOCK,
                                                   num_warps=warps(BLOCK))
    return y, mean.to(x.dtype), var.to(x.dtype)


def batchnorm_backward(grad_y: Tensor, x: Tensor, mean: Tensor, rstd: Tensor, weight: Tensor,
                       bias: Tensor, slope: float):
    """grad_y, x (B, C, S) contiguous -> (grad_x (B, C, S), grad_weight (C,), grad_bias (C,))."""
    batch, channels, inner = x.shape
    count = batch * inner
    acc = compute_dtype(x.dtype)
    mean, rstd = mean.to(acc), rstd.to(acc)
    stats = torch.stack([mean, rstd * weight.to(acc), bias.to(acc), rstd])  # (4, C)
    params = scalars(x, slope)
    block = reduction_block(count)
    partials = torch.empty(2, channels, triton.cdiv(count, block), dtype=acc, device=x.device)
    _backward_reduce_kernel[(partials[0].numel(),)](grad_y, x, stats, params, partials[0],
                                                    partials[1], count, channels, inner,
                                                    BLOCK=block, num_warps=warps(block))
    grad_b, grad_w = partials.sum(2)  # (C,), (C,)
    stats = torch.cat([stats, grad_b[None] / count, grad_w[None] / count])  # (6, C)
    grad_x = torch.empty_like(x)
    _backward_apply_kernel[(triton.cdiv(x.numel(), BLOCK),)](grad_y, x, stats, params, grad_x,
                                                            x.numel(), channels, inner,
                                                            BLOCK=BLOCK, num_warps=warps(BLOCK))
    return grad_x, grad_w.to(weight.dtype), grad_b.to(bias.dtype)
