"""The public ops: validate arguments, pick a backend by name and device, call it.

Backends: "eager" (reference.py, plain torch), "compiled" (compiled.py: on CPU the C kernels of
cpu.py, each op in one pass, built on first use; torch.compile on CUDA), "triton" (triton/,
CUDA, or CPU under TRITON_INTERPRET=1), "auto" (see dispatch.py: CUDA -> triton, CPU -> eager,
so nothing compiles implicitly).
"""

from torch import Tensor

from . import reference
from .dispatch import BACKENDS, resolve_backend

__all__ = [
    "ACTIVATIONS",
    "BACKENDS",
    "GAN_LOSS_KINDS",
    "REDUCTIONS",
    "batchnorm_act",
    "batchnorm_act_with_stats",
    "bias_act",
    "discriminator_loss",
    "generator_loss",
    "vae_loss",
]

GAN_LOSS_KINDS = ("saturating", "nonsaturating", "lsgan", "hinge", "wasserstein")
REDUCTIONS = ("mean", "sum", "none")
ACTIVATIONS = ("leaky_relu", "relu")


def _choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")


def _backend(name: str, *tensors: Tensor):
    """reference (a module) or a fused backend's FusedOps: both offer the same op functions."""
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        raise ValueError(f"all tensors must be on one device, got {sorted(map(str, devices))}")
    resolved = resolve_backend(name, tensors[0].device)
    if resolved == "compiled":
        from . import compiled
        return compiled.OPS
    if resolved == "triton":
        from . import triton
        return triton.OPS
    return reference


def _slope(activation: str, negative_slope: float) -> float:
    _choice("activation", activation, ACTIVATIONS)
    if activation == "relu":
        return 0.0
    if negative_slope < 0:
        raise ValueError(f"negative_slope must be >= 0 (backward reads the sign from the "
                         f"output), got {negative_slope}")
    return float(negative_slope)


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor, kind: str, *,
                       reduction: str = "mean", backend: str = "auto"):
    """The loss the discriminator minimises, from its logits on real and fake batches.

    saturating, nonsaturating: softplus(-real) + softplus(fake) = -log D(x) - log(1 - D(G(z)));
    lsgan (a=0, b=1): 0.5 (real - 1)^2 + 0.5 fake^2; hinge: relu(1 - real) + relu(1 + fake);
    wasserstein: -real + fake. reduction "mean": mean over real + mean over fake (the batches
    may differ in size); "sum": sum + sum; "none": the tuple (real_terms, fake_terms).
    """
    _choice("GAN loss kind", kind, GAN_LOSS_KINDS)
    _choice("reduction", reduction, REDUCTIONS)
    impl = _backend(backend, real_logits, fake_logits)
    return impl.discriminator_loss(real_logits, fake_logits, kind, reduction)


def generator_loss(fake_logits: Tensor, kind: str, *, reduction: str = "mean",
                   backend: str = "auto") -> Tensor:
    """The loss the generator minimises, from the discriminator's logits on fake samples.

    saturating: -softplus(fake) = log(1 - D(G(z))) (the original minimax); nonsaturating:
    softplus(-fake) = -log D(G(z)); lsgan (c=1): 0.5 (fake - 1)^2; hinge, wasserstein: -fake.
    """
    _choice("GAN loss kind", kind, GAN_LOSS_KINDS)
    _choice("reduction", reduction, REDUCTIONS)
    return _backend(backend, fake_logits).generator_loss(fake_logits, kind, reduction)


def vae_loss(recon_logits: Tensor, target: Tensor, mu: Tensor, logvar: Tensor, *,
             beta: float = 1.0, reduction: str = "mean", backend: str = "auto") -> Tensor:
    """Per example: sum over pixels of BCE-with-logits(recon_logits, target) plus
    beta * KL(N(mu, exp(logvar)) || N(0, I)) summed over latent dims; then reduced over the batch
    ("mean" | "sum" | "none" -> shape (B,)). recon_logits, target: (B, ...); mu, logvar: (B, Z).
    `target` is data: no gradient flows into it on any backend.
    """
    _choice("reduction", reduction, REDUCTIONS)
    if recon_logits.shape != target.shape or recon_logits.ndim < 2:
        raise ValueError(f"recon_logits and target must share one shape (B, ...), got "
                         f"{tuple(recon_logits.shape)} and {tuple(target.shape)}")
    if mu.shape != logvar.shape or mu.ndim < 2 or mu.shape[0] != recon_logits.shape[0]:
        raise ValueError(f"mu and logvar must both be (B, Z) with B = {recon_logits.shape[0]}, "
                         f"got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    impl = _backend(backend, recon_logits, target, mu, logvar)
    return impl.vae_loss(recon_logits, target, mu, logvar, float(beta), reduction)


def bias_act(x: Tensor, bias: Tensor, *, activation: str = "leaky_relu",
             negative_slope: float = 0.2, backend: str = "auto") -> Tensor:
    """act(x + bias): x (B, C, ...), bias (C,) broadcast over dim 1; activation "leaky_relu"
    (slope `negative_slope` >= 0) or "relu". Twice differentiable (for gradient penalties)."""
    slope = _slope(activation, negative_slope)
    if x.ndim < 2 or bias.shape != (x.shape[1],):
        raise ValueError(f"bias_act needs x (B, C, ...) and bias (C,), got {tuple(x.shape)} "
                         f"and {tuple(bias.shape)}")
    return _backend(backend, x, bias).bias_act(x, bias, activation, slope)


def _check_batchnorm(x: Tensor, weight: Tensor | None, bias: Tensor | None):
    if x.ndim < 2:
        raise ValueError(f"batchnorm_act needs x (B, C, ...), got {tuple(x.shape)}")
    channels = x.shape[1]
    if x.numel() // max(channels, 1) < 2:
        raise ValueError(f"batchnorm_act in training mode needs more than 1 value per channel, "
                         f"got input of shape {tuple(x.shape)}")
    weight = x.new_ones(channels) if weight is None else weight
    bias = x.new_zeros(channels) if bias is None else bias
    if weight.shape != (channels,) or bias.shape != (channels,):
        raise ValueError(f"batchnorm_act needs weight and bias of shape ({channels},), got "
                         f"{tuple(weight.shape)} and {tuple(bias.shape)}")
    return weight, bias


def batchnorm_act(x: Tensor, weight: Tensor | None, bias: Tensor | None, *, eps: float = 1e-5,
                  activation: str = "relu", negative_slope: float = 0.0,
                  backend: str = "auto") -> Tensor:
    """act(weight * (x - mean) / sqrt(var + eps) + bias) with training-mode batch statistics
    (mean, biased var) over all dims but 1. x: (B, C, ...); weight, bias: (C,) or None."""
    slope = _slope(activation, negative_slope)
    weight, bias = _check_batchnorm(x, weight, bias)
    impl = _backend(backend, x, weight, bias)
    return impl.batchnorm_act(x, weight, bias, float(eps), activation, slope)


def batchnorm_act_with_stats(x: Tensor, weight: Tensor | None, bias: Tensor | None, *,
                             eps: float = 1e-5, activation: str = "relu",
                             negative_slope: float = 0.0, backend: str = "auto"):
    """(y, mean, var): y as batchnorm_act, plus the detached batch mean (C,) and biased
    variance (C,) it normalised with. For PyTorch's running_var convention, multiply var by
    n / (n - 1) with n = x.numel() // C."""
    slope = _slope(activation, negative_slope)
    weight, bias = _check_batchnorm(x, weight, bias)
    impl = _backend(backend, x, weight, bias)
    return impl.batchnorm_act_with_stats(x, weight, bias, float(eps), activation, slope)
