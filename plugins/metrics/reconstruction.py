"""What an autoencoder does with held-out images: reconstruction and the lecture's applications.

Each metric feeds the first n images of a split (clean, or corrupted by a function of
datasets/corruptions.py) through ctx.reconstruct and compares the output with the clean images:
- reconstruction: MSE, PSNR and SSIM of the reconstructions;
- denoise: Gaussian noise (sd in data units, clipped) on the input;
- inpaint: the centre square replaced by `fill`; PSNR on that square only;
- superres: the input average-pooled by `factor` and scaled back up (nearest or bilinear).
Each application also reports the score of the corrupted input itself (`*_input`), the baseline
an autoencoder has to beat. The noise comes from a generator seeded by the cell's seed, so a cell
sees the same noisy images at every eval step. Scores are on [0, 1] pixels (data_range 1):
PSNR = 10 log10(1 / MSE) per image, averaged over images; SSIM (torchmetrics) with the standard
11x11 Gaussian window (sigma 1.5), or 3x3 (sigma 0.5) on images smaller than 16 pixels a side.
"""

from __future__ import annotations

import torch

from genbench import EvalContext, MetricOutput, MetricResult, MetricSpec, Param, hookimpl
from genbench.plugins.datasets.corruptions import downsample_upsample, gaussian_noise, mask_centre

NOISE_SEED_OFFSET = 2_000_003  # the corruption noise stream: cell seed + offset
SPLITS = ("test", "train")


def unit(x: torch.Tensor) -> torch.Tensor:
    return ((x + 1) / 2).clamp(0, 1)  # data in [-1, 1] -> [0, 1] pixels


def psnr(output: torch.Tensor, clean: torch.Tensor) -> float:
    """Mean over images of the PSNR (dB) of output vs clean; (B, ...) in data space."""
    from torchmetrics.functional.image import peak_signal_noise_ratio  # loads when a metric runs

    dims = tuple(range(1, clean.ndim))
    return peak_signal_noise_ratio(unit(output), unit(clean), data_range=1.0, dim=dims).item()


def ssim_window(height: int, width: int) -> tuple[int, float]:
    return (11, 1.5) if min(height, width) >= 16 else (3, 0.5)


def ssim(output: torch.Tensor, clean: torch.Tensor) -> float:
    """Mean SSIM of output vs clean images (B, C, H, W) in data space."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    kernel, sigma = ssim_window(*clean.shape[-2:])
    return structural_similarity_index_measure(unit(output), unit(clean), data_range=1.0,
                                               kernel_size=kernel, sigma=sigma).item()


def held_out(ctx: EvalContext, split: str, n: int) -> torch.Tensor:
    """The first n images (n', C, H, W) of the split; a clear error if there is nothing to score."""
    if ctx.reconstruct is None:
        raise ValueError("this metric needs ctx.reconstruct: an autoencoder's trainer provides it")
    images = ctx.data.test if split == "test" else ctx.data.train
    if images is None or len(images) == 0:
        raise ValueError(f"dataset has no {split} split; fix: split = 'train'")
    return images[:n]


def provenance(images: torch.Tensor, split: str) -> dict:
    kernel, sigma = ssim_window(*images.shape[-2:])
    return {"n_real": len(images), "split": split, "ssim_kernel": kernel, "ssim_sigma": sigma}


class Reconstruction:
    def __init__(self, n: int, split: str):
        self.n, self.split = n, split

    def __call__(self, ctx: EvalContext) -> MetricResult:
        clean = held_out(ctx, self.split, self.n)  # (n, C, H, W)
        output = ctx.reconstruct(clean)
        values = {"recon_mse": (unit(output) - unit(clean)).pow(2).mean().item(),
                  "recon_psnr": psnr(output, clean), "recon_ssim": ssim(output, clean)}
        return MetricResult(values, provenance(clean, self.split))


class Denoising:
    def __init__(self, n: int, split: str, sd: float):
        self.n, self.split, self.sd = n, split, sd

    def __call__(self, ctx: EvalContext) -> MetricResult:
        clean = held_out(ctx, self.split, self.n)  # (n, C, H, W)
        noisy = gaussian_noise(clean, self.sd, torch.Generator().manual_seed(ctx.seed + NOISE_SEED_OFFSET))
        output = ctx.reconstruct(noisy)
        values = {"denoise_psnr": psnr(output, clean), "denoise_ssim": ssim(output, clean),
                  "denoise_psnr_input": psnr(noisy, clean)}
        return MetricResult(values, {**provenance(clean, self.split), "noise_seed": ctx.seed + NOISE_SEED_OFFSET})


class Inpainting:
    def __init__(self, n: int, split: str, size: float, fill: float):
        self.n, self.split, self.size, self.fill = n, split, size, fill

    def __call__(self, ctx: EvalContext) -> MetricResult:
        clean = held_out(ctx, self.split, self.n)  # (n, C, H, W)
        masked, mask = mask_centre(clean, self.size, self.fill)  # (n, C, H, W), (H, W)
        output = ctx.reconstruct(masked)
        values = {"inpaint_psnr": psnr(output[..., mask], clean[..., mask]),  # (n, C, masked pixels)
                  "inpaint_psnr_input": psnr(masked[..., mask], clean[..., mask])}
        return MetricResult(values, {**provenance(clean, self.split), "masked_pixels": int(mask.sum())})


class SuperResolution:
    def __init__(self, n: int, split: str, factor: int, mode: str):
        self.n, self.split, self.factor, self.mode = n, split, factor, mode

    def __call__(self, ctx: EvalContext) -> MetricResult:
        clean = held_out(ctx, self.split, self.n)  # (n, C, H, W)
        low = downsample_upsample(clean, self.factor, self.mode)  # (n, C, H, W)
        output = ctx.reconstruct(low)
        values = {"sr_psnr": psnr(output, clean), "sr_ssim": ssim(output, clean),
                  "sr_psnr_input": psnr(low, clean), "sr_ssim_input": ssim(low, clean)}
        return MetricResult(values, provenance(clean, self.split))


def make_reconstruction(*, n: int, split: str) -> Reconstruction:
    return Reconstruction(n, split)


def make_denoising(*, n: int, split: str, sd: float) -> Denoising:
    return Denoising(n, split, sd)


def make_inpainting(*, n: int, split: str, size: float, fill: float) -> Inpainting:
    return Inpainting(n, split, size, fill)


def make_superres(*, n: int, split: str, factor: int, mode: str) -> SuperResolution:
    return SuperResolution(n, split, factor, mode)


HELD_OUT = {
    "n": Param(1000, "held-out images scored: the first n of the split", min=1),
    "split": Param("test", "split the images come from", choices=SPLITS),
}
PSNR = MetricOutput(True, "PSNR", "dB")
SSIM = MetricOutput(True, "SSIM")
KIND = {"domains": ("image",), "needs": ("real", "reconstructions")}


@hookimpl
def register_metrics(register):
    register(MetricSpec("reconstruction", "MSE, PSNR and SSIM of reconstructed held-out images",
                        make_reconstruction, HELD_OUT,
                        outputs={"recon_mse": MetricOutput(False, "MSE", "[0,1] pixels"),
                                 "recon_psnr": PSNR, "recon_ssim": SSIM}, **KIND))
    register(MetricSpec("denoise", "PSNR/SSIM of the output vs the clean image for Gaussian-noised inputs",
                        make_denoising, {**HELD_OUT, "sd": Param(0.4, "noise sd in data units ([-1, 1])", min=0.0)},
                        outputs={"denoise_psnr": PSNR, "denoise_ssim": SSIM,
                                 "denoise_psnr_input": MetricOutput(True, "PSNR of the noisy input", "dB")}, **KIND))
    register(MetricSpec("inpaint", "PSNR on a masked centre square of the output for masked inputs",
                        make_inpainting,
                        {**HELD_OUT, "size": Param(0.5, "side of the square, as a fraction of the image side",
                                                   min=0.0, max=1.0),
                         "fill": Param(0.0, "value of the masked pixels in data units (0 = mid-grey)",
                                       min=-1.0, max=1.0)},
                        outputs={"inpaint_psnr": PSNR,
                                 "inpaint_psnr_input": MetricOutput(True, "PSNR of the masked input", "dB")}, **KIND))
    register(MetricSpec("superres", "PSNR/SSIM of the output for downsampled (then upsampled) inputs",
                        make_superres,
                        {**HELD_OUT, "factor": Param(2, "downsampling factor", min=2),
                         "mode": Param("bilinear", "upsampling back to the input size",
                                       choices=("nearest", "bilinear"))},
                        outputs={"sr_psnr": PSNR, "sr_ssim": SSIM,
                                 "sr_psnr_input": MetricOutput(True, "PSNR of the upsampled input", "dB"),
                                 "sr_ssim_input": MetricOutput(True, "SSIM of the upsampled input")}, **KIND))
