"""The public ops: validate the arguments, then call the op of the active backend (backend.py).

Each public function checks its arguments and calls one op by name, with positional arguments,
so a backend's op table (KernelSpec.ops) implements these names and signatures, exactly those
of reference.py (arguments arrive validated; optional weight and bias filled in):

    discriminator_loss(real, fake, kind, reduction) -> Tensor, or (real_terms, fake_terms)
    generator_loss(fake, kind, reduction) -> Tensor
    vae_loss(recon_logits, target, mu, logvar, beta, reduction) -> Tensor
    bias_act(x, bias, activation, negative_slope) -> Tensor
    batchnorm_act_with_stats(x, weight, bias, eps, activation, negative_slope) -> (y, mean, var)

batchnorm_act is batchnorm_act_with_stats' y. An op the backend lacks runs the reference.
"""

from torch import Tensor

from . import reference
from .backend import op

__all__ = [
    "ACTIVATIONS",
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

_discriminator_loss = op("discriminator_loss")(reference.discriminator_loss)
_generator_loss = op("generator_loss")(reference.generator_loss)
_vae_loss = op("vae_loss")(reference.vae_loss)
_bias_act = op("bias_act")(reference.bias_act)
_batchnorm_act_with_stats = op("batchnorm_act_with_stats")(reference.batchnorm_act_with_stats)


def _choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")


def _same_device(*tensors: Tensor) -> None:
    device = tensors[0].device
    if any(t.device != device for t in tensors):
        raise ValueError(f"all tensors must be on one device, got "
                         f"{sorted({str(t.device) for t in tensors})}")


def _slope(activation: str, negative_slope: float) -> float:
    _choice("activation", activation, ACTIVATIONS)
    if activation == "relu":
        return 0.0
    if negative_slope < 0:
        raise ValueError(f"negative_slope must be >= 0 (backward reads the sign from the "
                         f"output), got {negative_slope}")
    return float(negative_slope)


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor, kind: str, *,
                       reduction: str = "mean"):
    """The loss the discriminator minimises, from its logits on real and fake batches.

    saturating, nonsaturating: softplus(-real) + softplus(fake) = -log D(x) - log(1 - D(G(z)));
    lsgan (a=0, b=1): 0.5 (real - 1)^2 + 0.5 fake^2; hinge: relu(1 - real) + relu(1 + fake);
    wasserstein: -real + fake. reduction "mean": mean over real + mean over fake (the batches
    may differ in size); "sum": sum + sum; "none": the tuple (real_terms, fake_terms).
    """
    _choice("GAN loss kind", kind, GAN_LOSS_KINDS)
    _choice("reduction", reduction, REDUCTIONS)
    _same_device(real_logits, fake_logits)
    return _discriminator_loss(real_logits, fake_logits, kind, reduction)


def generator_loss(fake_logits: Tensor, kind: str, *, reduction: str = "mean") -> Tensor:
    """The loss the generator minimises, from the discriminator's logits on fake samples.

    saturating: -softplus(fake) = log(1 - D(G(z))) (the original minimax); nonsaturating:
    softplus(-fake) = -log D(G(z)); lsgan (c=1): 0.5 (fake - 1)^2; hinge, wasserstein: -fake.
    """
    _choice("GAN loss kind", kind, GAN_LOSS_KINDS)
    _choice("reduction", reduction, REDUCTIONS)
    return _generator_loss(fake_logits, kind, reduction)


def vae_loss(recon_logits: Tensor, target: Tensor, mu: Tensor, logvar: Tensor, *,
             beta: float = 1.0, reduction: str = "mean") -> Tensor:
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
    _same_device(recon_logits, target, mu, logvar)
    return _vae_loss(recon_logits, target, mu, logvar, float(beta), reduction)


def bias_act(x: Tensor, bias: Tensor, *, activation: str = "leaky_relu",
             negative_slope: float = 0.2) -> Tensor:
    """act(x + bias): x (B, C, ...), bias (C,) broadcast over dim 1; activation "leaky_relu"
    (slope `negative_slope` >= 0) or "relu". Twice differentiable (for gradient penalties)."""
    slope = _slope(activation, negative_slope)
    if x.ndim < 2 or bias.shape != (x.shape[1],):
        raise ValueError(f"bias_act needs x (B, C, ...) and bias (C,), got {tuple(x.shape)} "
                         f"and {tuple(bias.shape)}")
    _same_device(x, bias)
    return _bias_act(x, bias, activation, slope)


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
    _same_device(x, weight, bias)
    return weight, bias


def batchnorm_act(x: Tensor, weight: Tensor | None, bias: Tensor | None, *, eps: float = 1e-5,
                  activation: str = "relu", negative_slope: float = 0.0) -> Tensor:
    """act(weight * (x - mean) / sqrt(var + eps) + bias) with training-mode batch statistics
    (mean, biased var) over all dims but 1. x: (B, C, ...); weight, bias: (C,) or None."""
    return batchnorm_act_with_stats(x, weight, bias, eps=eps, activation=activation,
                                    negative_slope=negative_slope)[0]


def batchnorm_act_with_stats(x: Tensor, weight: Tensor | None, bias: Tensor | None, *,
                             eps: float = 1e-5, activation: str = "relu",
                             negative_slope: float = 0.0):
    """(y, mean, var): y as batchnorm_act, plus the detached batch mean (C,) and biased
    variance (C,) it normalised with. For PyTorch's running_var convention, multiply var by
    n / (n - 1) with n = x.numel() // C."""
    slope = _slope(activation, negative_slope)
    weight, bias = _check_batchnorm(x, weight, bias)
    return _batchnorm_act_with_stats(x, weight, bias, float(eps), activation, slope)
