"""VAE loss: per-example BCE-with-logits over pixels and Gaussian KL over latents, with gradients.

Both kernels tile a (B, D) matrix in (ROWS, BLOCK) tiles over a 1-D grid: each program writes
the gradient for its tile and one partial sum per row; the host sums each row's partials
(deterministic, no atomics).
"""

import torch
import triton
import triton.language as tl
from torch import Tensor

from .common import compute_dtype, row_tile, row_tile_offsets, scalars, softplus_sigmoid, warps


@triton.jit
def _bce_rows_kernel(recon_ptr, target_ptr, params_ptr, partial_ptr, grad_ptr, rows, cols,
                     ROWS: tl.constexpr, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    r, offs, mask, partial_offs = row_tile_offsets(pid, rows, cols, ROWS, BLOCK)
    scale = tl.load(params_ptr)
    logit = tl.load(recon_ptr + offs, mask=mask, other=0.0).to(scale.dtype)  # (ROWS, BLOCK)
    target = tl.load(target_ptr + offs, mask=mask, other=0.0).to(scale.dtype)
    softplus, sigmoid = softplus_sigmoid(logit)
    bce = softplus - logit * target  # BCE-with-logits
    tl.store(grad_ptr + offs, scale * (sigmoid - target), mask=mask)
    tl.store(partial_ptr + partial_offs, tl.sum(tl.where(mask, bce, 0.0), axis=1), mask=r < rows)


@triton.jit
def _kl_rows_kernel(mu_ptr, logvar_ptr, params_ptr, partial_ptr, grad_mu_ptr, grad_logvar_ptr,
                    rows, cols, ROWS: tl.constexpr, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    r, offs, mask, partial_offs = row_tile_offsets(pid, rows, cols, ROWS, BLOCK)
    scale = tl.load(params_ptr)  # beta * (1/B for a mean, else 1)
    mu = tl.load(mu_ptr + offs, mask=mask, other=0.0).to(scale.dtype)  # (ROWS, BLOCK)
    logvar = tl.load(logvar_ptr + offs, mask=mask, other=0.0).to(scale.dtype)
    var = tl.exp(logvar)
    kl = -0.5 * (1.0 + logvar - mu * mu - var)
    tl.store(grad_mu_ptr + offs, scale * mu, mask=mask)
    tl.store(grad_logvar_ptr + offs, (0.5 * scale) * (var - 1.0), mask=mask)
    tl.store(partial_ptr + partial_offs, tl.sum(tl.where(mask, kl, 0.0), axis=1), mask=r < rows)


def _row_sums(kernel, inputs: tuple[Tensor, ...], outputs: tuple[Tensor, ...]) -> Tensor:
    """kernel(*inputs, partials, *outputs, rows, cols) over the (B, D) matrix inputs[0], tiled;
    returns the per-row sums (B,)."""
    rows, cols = inputs[0].shape
    tile_rows, block = row_tile(rows, cols)
    blocks = triton.cdiv(cols, block)
    partials = torch.zeros(rows, blocks, dtype=compute_dtype(inputs[0].dtype),
                           device=inputs[0].device)  # (B, blocks)
    if partials.numel() > 0:
        grid = (triton.cdiv(rows, tile_rows) * blocks,)
        kernel[grid](*inputs, partials, *outputs, rows, cols, ROWS=tile_rows, BLOCK=block,
                     num_warps=warps(tile_rows * block))
    return partials.sum(1)


def vae_terms(recon: Tensor, target: Tensor, mu: Tensor, logvar: Tensor, beta: float,
              scale: float, reduce: bool):
    """recon, target (B, D); mu, logvar (B, Z) contiguous -> (per-example losses (B,), or their
    0-d sum if reduce; scale * the gradients for recon (B, D), mu (B, Z), logvar (B, Z))."""
    grad_recon, grad_mu, grad_logvar = (torch.empty_like(t) for t in (recon, mu, logvar))
    bce = _row_sums(_bce_rows_kernel, (recon, target, scalars(recon, scale)), (grad_recon,))
    kl = _row_sums(_kl_rows_kernel, (mu, logvar, scalars(mu, beta * scale)),
                   (grad_mu, grad_logvar))
    per_example = (bce + beta * kl).to(recon.dtype)  # (B,)
    return (per_example.sum() if reduce else per_example), grad_recon, grad_mu, grad_logvar
