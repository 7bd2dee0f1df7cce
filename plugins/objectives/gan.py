"""GAN objectives from discriminator logits, computed stably by genbench.kernels.

With D(x) the discriminator's logit (its probability is sigmoid(D(x))), both losses minimised:
- saturating, nonsaturating (Goodfellow et al. 2014): D minimises softplus(-D(x)) + softplus(D(G(z)))
  = -log sigmoid(D(x)) - log(1 - sigmoid(D(G(z)))). G either minimises log(1 - sigmoid(D(G(z))))
  = -softplus(D(G(z))) (saturating: the original minimax, whose gradient vanishes while D confidently
  rejects the samples), or softplus(-D(G(z))) = -log sigmoid(D(G(z))) (nonsaturating).
- lsgan (Mao et al. 2017, a=0, b=1, c=1): D: 0.5 (D(x) - 1)^2 + 0.5 D(G(z))^2; G: 0.5 (D(G(z)) - 1)^2.
- hinge (Lim & Ye 2017; Miyato et al. 2018): D: relu(1 - D(x)) + relu(1 + D(G(z))); G: -D(G(z)).
- wgan-gp (Gulrajani et al. 2017): the critic minimises D(G(z)) - D(x) + lambda E[(||grad D(xhat)||_2 - 1)^2]
  at random interpolates xhat of real and fake; G minimises -D(G(z)).
- wgan-clip (Arjovsky et al. 2017): the same critic and generator losses as wgan-gp, with D's
  weights clipped to [-c, c] after every critic step (`after_discriminator_step`, the hook the
  trainer calls after each D optimiser step) instead of a penalty; the paper's c = 0.01,
  n_critic = 5 and RMSprop with lr 5e-5 (pick `optimizers = ["rmsprop"]` in the suite).
- dragan (Kodali et al. 2017, "On Convergence and Stability of GANs"): the non-saturating GAN
  loss plus lambda E[(||grad D(x + delta)||_2 - 1)^2] around the real data. delta follows the
  authors' code (github.com/kodalinaveen3/DRAGAN): x_p = x + C std(x) u with u ~ U[0, 1)
  per element and std over the whole real batch, then x + alpha (x_p - x) with alpha ~ U[0, 1)
  per example; C = 0.5, lambda = 10. (The paper writes delta ~ N(0, cI); its code, used here,
  perturbs upwards only.)
- rsgan (Jolicoeur-Martineau 2018, relativistic standard GAN): with C the critic, D minimises
  softplus(-(C(x_r) - C(x_f))) and G minimises softplus(-(C(x_f) - C(x_r))), the i-th real paired
  with the i-th fake, each averaged over the batch.
- ragan (relativistic average standard GAN): D minimises mean softplus(-(C(x_r) - mean C(x_f)))
  + mean softplus(C(x_f) - mean C(x_r)); G the same with real and fake swapped.
The generator loss is generator_loss(real_logits, fake_logits): the relativistic losses set
`generator_needs_real`, so the trainer passes D's logits on a real batch (computed without grad);
the others get None and never look at it.
Every objective also takes `r1` (Mescheder et al. 2018): gamma/2 E[||grad_x D(x)||^2] on real data,
added to D's loss (0 = off). `k` is Algorithm 1's number of discriminator steps per generator step.
And `acgan` (Odena et al. 2017, the auxiliary classifier GAN): with weight w > 0 and a model whose
discriminator trunk carries a classifier C (x -> class logits), D's loss gains
w [CE(C(x), y) + CE(C(G(z, y')), y')] (real images with their labels, fakes with the labels they
were drawn for) and G's loss w CE(C(G(z, y')), y'): both networks want the samples classified as
their labels. It is an objective option, like r1, because it is a term of the losses the
objective defines, added to any of them (the paper's is the nonsaturating one; StudioGAN pairs it
with hinge too), so a suite compares it on the objective axis; the family trainer supplies C's
logits as it supplies D to a penalty.

The penalties differentiate D with respect to its input and keep that graph (create_graph=True),
so D's update differentiates twice through D. With batch norm in D an example's logit depends
on the whole batch, so the penalised gradient is no longer per example: Gulrajani et al. drop
batch norm from the critic (use a model option such as dcgan's d_batchnorm=false).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from genbench.kernels import functional as K

from genbench import ObjectiveSpec, Param, hookimpl


def input_gradient(discriminator: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """grad_x D(x) per example, flattened: (B, *shape) -> (B, prod(shape)). The graph is kept
    (create_graph=True) so a penalty on it has gradients with respect to D's parameters."""
    x = x.detach().requires_grad_(True)  # (B, *shape)
    (grad,) = torch.autograd.grad(discriminator(x).sum(), x, create_graph=True)  # (B, *shape)
    return grad.flatten(1)


def r1_penalty(discriminator: torch.nn.Module, real: torch.Tensor, gamma: float) -> torch.Tensor:
    """Mescheder et al. 2018: gamma/2 E[||grad_x D(x)||^2] over the real batch."""
    return 0.5 * gamma * input_gradient(discriminator, real).pow(2).sum(1).mean()


def gradient_penalty(discriminator: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     weight: float) -> torch.Tensor:
    """Gulrajani et al. 2017: lambda E[(||grad D(xhat)||_2 - 1)^2], xhat = e x + (1 - e) G(z) with
    e ~ U[0, 1] per example. e comes from torch's global RNG on real's device (no copy per step),
    which the runner seeds per cell: the same cell on the same device gives the same penalty."""
    e = torch.rand(len(real), *[1] * (real.ndim - 1), device=real.device)  # (B, 1, ...)
    xhat = e * real.detach() + (1 - e) * fake.detach()  # (B, *shape)
    norms = input_gradient(discriminator, xhat).norm(dim=1)  # (B,)
    return weight * (norms - 1).pow(2).mean()


def dragan_penalty(discriminator: torch.nn.Module, real: torch.Tensor, weight: float, c: float) -> torch.Tensor:
    """Kodali et al. 2017: lambda E[(||grad D(x_hat)||_2 - 1)^2], x_hat = x + alpha C std(x) u with
    u ~ U[0, 1) per element and alpha ~ U[0, 1) per example, drawn in that order from torch's
    global RNG on real's device (seeded per cell by the runner, as gradient_penalty's e)."""
    real = real.detach()
    u = torch.rand_like(real)  # (B, *shape)
    alpha = torch.rand(len(real), *[1] * (real.ndim - 1), device=real.device, dtype=real.dtype)  # (B, 1, ...)
    x_hat = real + alpha * (c * real.std(correction=0) * u)  # (B, *shape): x + alpha (x_p - x)
    norms = input_gradient(discriminator, x_hat).norm(dim=1)  # (B,)
    return weight * (norms - 1).pow(2).mean()


class GANObjective:
    """What every GAN objective shares: k (`d_steps`), the penalties added to D's loss and the
    ACGAN weight (`acgan`, 0 = off). Subclasses supply discriminator_loss(real_logits, fake_logits)
    and generator_loss(real_logits, fake_logits); real_logits reaches the generator loss only when
    `generator_needs_real` is set (else None). `double_backward` says D is differentiated twice
    (a gradient penalty is on), so the trainer must not hand D to a backend that compiles it."""

    d_is_classifier = False  # D's output is a critic's score, not the logit of "real"
    generator_needs_real = False

    def __init__(self, k: int, r1: float = 0.0, gp: float = 0.0, acgan: float = 0.0):
        self.d_steps = k
        self.r1 = r1
        self.gp = gp
        self.acgan = acgan
        self.double_backward = gp > 0 or r1 > 0  # a penalty differentiates D twice

    def classification_loss(self, class_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """ACGAN's auxiliary term: acgan * mean cross-entropy of class logits (B, K) at labels (B,)."""
        return self.acgan * F.cross_entropy(class_logits.float(), labels)

    def penalty(self, discriminator: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """The regularisers added to D's loss (a zero scalar when both are off)."""
        total = real.new_zeros(())
        if self.gp > 0:
            total = total + gradient_penalty(discriminator, real, fake, self.gp)
        if self.r1 > 0:
            total = total + r1_penalty(discriminator, real, self.r1)
        return total


class GANLoss(GANObjective):
    """A loss of D's logits on each batch apart. `kind` names the kernel loss (see
    genbench.kernels.functional.GAN_LOSS_KINDS); `gp` weighs the WGAN-GP gradient penalty and `r1`
    the R1 penalty (0 = off). Only the saturating and nonsaturating losses make D a classifier
    (its output the logit of "real"); for the others it is a critic's score."""

    def __init__(self, kind: str, k: int, r1: float = 0.0, gp: float = 0.0, acgan: float = 0.0):
        super().__init__(k, r1, gp, acgan)
        self.kind = kind
        self.d_is_classifier = kind in ("saturating", "nonsaturating")

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return K.discriminator_loss(real_logits, fake_logits, self.kind)

    def generator_loss(self, real_logits: torch.Tensor | None, fake_logits: torch.Tensor) -> torch.Tensor:
        return K.generator_loss(fake_logits, self.kind)


class WGANClip(GANLoss):
    """The Wasserstein critic kept Lipschitz by clipping its weights to [-c, c] after each step."""

    def __init__(self, k: int, clip: float, r1: float = 0.0, acgan: float = 0.0):
        super().__init__("wasserstein", k, r1=r1, acgan=acgan)
        self.clip = clip

    def after_discriminator_step(self, discriminator: torch.nn.Module) -> None:
        """Clip every parameter of D to [-c, c] (the trainer calls this without grad)."""
        for parameter in discriminator.parameters():
            parameter.clamp_(-self.clip, self.clip)


class DRAGAN(GANLoss):
    """The non-saturating loss with DRAGAN's gradient penalty around the real data."""

    def __init__(self, k: int, gp: float, c: float, r1: float = 0.0, acgan: float = 0.0):
        super().__init__("nonsaturating", k, r1=r1, acgan=acgan)
        self.dragan_weight, self.c = gp, c
        self.double_backward = self.double_backward or gp > 0

    def penalty(self, discriminator: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        total = super().penalty(discriminator, real, fake)
        if self.dragan_weight > 0:
            total = total + dragan_penalty(discriminator, real, self.dragan_weight, self.c)
        return total


class RSGAN(GANObjective):
    """Relativistic standard GAN: C(x_r) - C(x_f) is the logit that the real is more realistic
    than the fake, the i-th real paired with the i-th fake (so both batches are m long)."""

    generator_needs_real = True

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return K.generator_loss(real_logits - fake_logits, "nonsaturating")  # mean softplus(-(r - f))

    def generator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return K.generator_loss(fake_logits - real_logits, "nonsaturating")  # mean softplus(-(f - r))


class RaGAN(GANObjective):
    """Relativistic average standard GAN: each score is compared with the other batch's mean."""

    generator_needs_real = True

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        # mean softplus(-(r - mean f)) + mean softplus(f - mean r)
        return K.discriminator_loss(real_logits - fake_logits.mean(), fake_logits - real_logits.mean(),
                                    "nonsaturating")

    def generator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        # mean softplus(-(f - mean r)) + mean softplus(r - mean f)
        return K.discriminator_loss(fake_logits - real_logits.mean(), real_logits - fake_logits.mean(),
                                    "nonsaturating")


def saturating(*, k: int = 1, r1: float = 0.0, acgan: float = 0.0) -> GANLoss:
    return GANLoss("saturating", k, r1=r1, acgan=acgan)


def nonsaturating(*, k: int = 1, r1: float = 0.0, acgan: float = 0.0) -> GANLoss:
    return GANLoss("nonsaturating", k, r1=r1, acgan=acgan)


def lsgan(*, k: int = 1, r1: float = 0.0, acgan: float = 0.0) -> GANLoss:
    return GANLoss("lsgan", k, r1=r1, acgan=acgan)


def hinge(*, k: int = 1, r1: float = 0.0, acgan: float = 0.0) -> GANLoss:
    return GANLoss("hinge", k, r1=r1, acgan=acgan)


def wgan_gp(*, k: int = 5, gp: float = 10.0, r1: float = 0.0, acgan: float = 0.0) -> GANLoss:
    return GANLoss("wasserstein", k, r1=r1, gp=gp, acgan=acgan)


def wgan_clip(*, k: int = 5, clip: float = 0.01, r1: float = 0.0, acgan: float = 0.0) -> WGANClip:
    return WGANClip(k, clip, r1=r1, acgan=acgan)


def dragan(*, k: int = 1, gp: float = 10.0, c: float = 0.5, r1: float = 0.0, acgan: float = 0.0) -> DRAGAN:
    return DRAGAN(k, gp, c, r1=r1, acgan=acgan)


def rsgan(*, k: int = 1, r1: float = 0.0, acgan: float = 0.0) -> RSGAN:
    return RSGAN(k, r1=r1, acgan=acgan)


def ragan(*, k: int = 1, r1: float = 0.0, acgan: float = 0.0) -> RaGAN:
    return RaGAN(k, r1=r1, acgan=acgan)


R1 = Param(0.0, "R1 penalty weight gamma: gamma/2 E||grad_x D(x)||^2 on real data (Mescheder et al. "
                "2018); 0 = off", min=0.0)
ACGAN = Param(0.0, "weight of ACGAN's auxiliary classification loss (Odena et al. 2017) in D's and G's "
                   "losses; needs a model with a classifier head (e.g. cmlp d_head = 'acgan'); 0 = off",
              min=0.0, id_if_default=False)
PARAMS = {
    "k": Param(1, "discriminator steps per generator step (Algorithm 1)", min=1, max=100),
    "r1": R1,
    "acgan": ACGAN,
}
WGAN_GP_PARAMS = {
    "k": Param(5, "critic steps per generator step (n_critic)", min=1, max=100),
    "gp": Param(10.0, "gradient penalty weight lambda", min=0.0),
    "r1": R1,
    "acgan": ACGAN,
}
WGAN_CLIP_PARAMS = {
    "k": Param(5, "critic steps per generator step (n_critic)", min=1, max=100),
    "clip": Param(0.01, "c: every weight of D is clipped to [-c, c] after each critic step", min=0.0),
    "r1": R1,
    "acgan": ACGAN,
}
DRAGAN_PARAMS = {
    "k": Param(1, "discriminator steps per generator step (Algorithm 1)", min=1, max=100),
    "gp": Param(10.0, "DRAGAN penalty weight lambda", min=0.0),
    "c": Param(0.5, "C: the perturbation's scale, in standard deviations of the real batch", min=0.0),
    "r1": R1,
    "acgan": ACGAN,
}
RELATIVISTIC = {"lr": 2e-4, "beta1": 0.5, "beta2": 0.999}  # Jolicoeur-Martineau 2018's Adam settings


@hookimpl
def register_objectives(register):
    register(ObjectiveSpec("saturating", "original minimax: G minimises log(1 - D(G(z)))",
                           saturating, PARAMS, family="gan"))
    register(ObjectiveSpec("nonsaturating", "non-saturating: G maximises log D(G(z))",
                           nonsaturating, PARAMS, family="gan"))
    register(ObjectiveSpec("lsgan", "least squares GAN (Mao et al. 2017; a=0, b=1, c=1)",
                           lsgan, PARAMS, family="gan", train_defaults={"lr": 2e-4, "beta1": 0.5}))
    register(ObjectiveSpec("hinge", "hinge loss (Lim & Ye 2017; Miyato et al. 2018); G maximises D(G(z))",
                           hinge, PARAMS, family="gan",  # DCGAN's Adam settings, one D step
                           train_defaults={"lr": 2e-4, "beta1": 0.5, "beta2": 0.999}))
    register(ObjectiveSpec("wgan-gp", "Wasserstein critic with gradient penalty (Gulrajani et al. 2017)",
                           wgan_gp, WGAN_GP_PARAMS, family="gan",
                           train_defaults={"lr": 1e-4, "beta1": 0.0, "beta2": 0.9}))
    register(ObjectiveSpec("wgan-clip", "Wasserstein critic with weight clipping (Arjovsky et al. 2017; "
                           "their optimizer: rmsprop)", wgan_clip, WGAN_CLIP_PARAMS, family="gan",
                           train_defaults={"lr": 5e-5}))
    register(ObjectiveSpec("dragan", "non-saturating loss + DRAGAN's gradient penalty around the real data "
                           "(Kodali et al. 2017)", dragan, DRAGAN_PARAMS, family="gan"))
    register(ObjectiveSpec("rsgan", "relativistic standard GAN (Jolicoeur-Martineau 2018): real vs paired fake",
                           rsgan, PARAMS, family="gan", train_defaults=RELATIVISTIC))
    register(ObjectiveSpec("ragan", "relativistic average GAN (Jolicoeur-Martineau 2018): vs the other batch's mean",
                           ragan, PARAMS, family="gan", train_defaults=RELATIVISTIC))
