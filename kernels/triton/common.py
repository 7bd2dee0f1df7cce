"""Helpers shared by the Triton kernels: launch constants, scalar parameters, softplus/sigmoid.

Scalars (slopes, scales, beta, eps) reach the kernels through a small tensor in the compute dtype
rather than as Python floats, which Triton would pass as float32; the kernels compute in that
tensor's dtype (float64 for float64 inputs, float32 otherwise).
"""

import torch
import triton
import triton.language as tl
from torch import Tensor

BLOCK = 4096  # elements per program in the flat elementwise kernels


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def scalars(like: Tensor, *values: float) -> Tensor:
    """(len(values),) in the compute dtype of `like`, on its device."""
    return torch.tensor(values, dtype=compute_dtype(like.dtype), device=like.device)


def row_tile(rows: int, cols: int) -> tuple[int, int]:
    """(ROWS, BLOCK) of a program tiling a (rows, cols) matrix: about BLOCK elements per program."""
    block = reduction_block(cols)
    return min(triton.next_power_of_2(max(rows, 1)), max(1, BLOCK // block)), block


def reduction_block(count: int) -> int:
    """Elements per program for a per-row or per-channel reduction over `count` elements."""
    return min(BLOCK, max(16, triton.next_power_of_2(count)))


def warps(block: int) -> int:
    """num_warps for a program of `block` elements on a GPU (the interpreter ignores it)."""
    return 8 if block >= 2048 else 4


@triton.jit
def softplus_sigmoid(u):
    """(softplus(u), sigmoid(u)) sharing one exp. No libdevice, so log1p(e) is evaluated as
    log(w) * e / (w - 1) with w = 1 + e (Goldberg's trick): exact to rounding even for tiny e."""
    e = tl.exp(-tl.abs(u))
    w = 1.0 + e
    d = w - 1.0  # e as rounded into w; 0 when e is below w's precision
    log1p = tl.where(d == 0, e, tl.log(w) * (e / tl.where(d == 0, 1.0, d)))
    softplus = tl.where(u > 0, u, 0.0) + log1p  # NaN stays NaN through log1p
    sigmoid = tl.where(u >= 0, 1.0, e) / w
    return softplus, sigmoid


@triton.jit
def leaky(z, slope):
    return tl.where(z > 0, z, z * slope)


@triton.jit
def channel_offsets(pid, count, channels, inner, BLOCK: tl.constexpr):
    """Offsets into a contiguous (B, C, S) tensor for program `pid` of a per-channel reduction:
    channel pid // blocks, its elements [j*BLOCK, (j+1)*BLOCK) in (b, s) order, where
    count = B * S and blocks = cdiv(count, BLOCK). Returns (channel, offsets, mask)."""
    blocks = tl.cdiv(count, BLOCK)
    channel, block = pid // blocks, pid % blocks
    i = block.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)  # (BLOCK,) index within the channel
    b, s = i // inner, i % inner
    return channel, (b * channels + channel) * inner + s, i < count


@triton.jit
def row_tile_offsets(pid, rows, cols, ROWS: tl.constexpr, BLOCK: tl.constexpr):
    """Program `pid`'s tile of a contiguous (rows, cols) matrix, tiles ordered row block major.
    Returns (row indices (ROWS,), offsets (ROWS, BLOCK), mask (ROWS, BLOCK), partial-sum
    offsets (ROWS,) into a (rows, cdiv(cols, BLOCK)) buffer)."""
    blocks = tl.cdiv(cols, BLOCK)
    row_block, col_block = pid // blocks, pid % blocks
    r = row_block.to(tl.int64) * ROWS + tl.arange(0, ROWS)  # (ROWS,)
    c = col_block * BLOCK + tl.arange(0, BLOCK)  # (BLOCK,)
    mask = (r[:, None] < rows) & (c[None, :] < cols)
    return r, r[:, None] * cols + c[None, :], mask, r * blocks + col_block
