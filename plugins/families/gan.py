"""The GAN family: Goodfellow et al. 2014, Algorithm 1.

    for each training iteration:
        for k steps:  sample m noise z ~ p(z) and m examples x ~ p_data;
                      update D on the objective's discriminator loss
        sample m noise z; update G on the objective's generator loss

With g_noise = "reuse" the generator step reuses the last discriminator step's noise batch (as
pytorch/examples' dcgan does), saving one generator forward per iteration; "fresh" (default)
samples new noise as Algorithm 1 does.

The objective object supplies `d_steps` (k), `discriminator_loss(real_logits, fake_logits)`,
`generator_loss(real_logits, fake_logits)` and optionally `penalty(discriminator, real, fake)`,
all losses to minimise, `d_is_classifier` (default True), `generator_needs_real` (default
False) and `double_backward` (default False: True when a penalty differentiates D twice, so D
is not handed to kernels.prepare, whose torch.compile has no double backward). The generator
loss gets D's logits on the last real batch (computed under no_grad by the updated D) only when
the objective sets `generator_needs_real` (the relativistic losses); otherwise real_logits is
None and the step costs nothing extra. Everything random (minibatches,
noise) comes from one generator on the training device, seeded by the cell.

Checkpoints: each step's `state` is the networks', optimisers', generator's and minibatch
sampler's state (common.trainer_state); with setup.resume the trainer loads it and continues
after that step. `evaluate_gan` rebuilds the eval context from such a state (genbench rescore).

Packing (PacGAN, Lin et al. 2018): a model with `pack = p` > 1 has a discriminator that judges
p samples at once, concatenated along the first data axis (the features of a point, the
channels of an image: `packed_shape`). The trainer then draws p times as many real examples and
noise vectors per step and groups them (`pack_samples`), so D still sees `batch_size` inputs, as
in the paper's code; every objective and penalty works on D's packed inputs unchanged. Metrics
sample G as usual: packing changes only what D judges.

Each step yields, as 0-d tensors left on the device: loss_d (the last D step's), loss_g,
g_grad_norm (the L2 norm of the generator's gradient, which shows the saturating objective's
vanishing gradient), and what D says of real and fake batches. For a classifier D (the
saturating and nonsaturating objectives: D's output is the logit of "real") that is d_real =
mean sigmoid(D(x)) and d_fake = mean sigmoid(D(G(z))), in [0, 1]; for a critic (lsgan, hinge,
wgan-gp, the relativistic losses: D's output is a score, and its sigmoid would mean nothing) it
is critic_real = mean D(x) and critic_fake = mean D(G(z)).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from genbench import EvalContext, FamilySpec, Param, Statistic, TrainSetup, TrainStep, hookimpl
from genbench import kernels
from genbench.plugins.models.gan import GANModel, pack_samples

from .common import Minibatches, eval_noise, in_eval_mode, load_modules, resume_parts


PARAMS = {
    "g_noise": Param("fresh", "noise of the generator step: fresh (Algorithm 1) or reuse the last D "
                     "step's batch (pytorch/examples' dcgan; one generator forward fewer)",
                     choices=("fresh", "reuse")),
}
# The report's diagnostic panel, in the lecture's terms: with the saturating loss log(1 - D(G(z)))
# D(G(z)) falls to 0 early and G's gradient vanishes; the nonsaturating -log D(G(z)) keeps it.
DIAGNOSTICS = "GAN diagnostics: the generator's gradient norm and D(G(z)) over training"
STATISTICS = {
    "loss_d": Statistic("D loss", finite=True),
    "loss_g": Statistic("G loss", finite=True),
    "g_grad_norm": Statistic("|grad G|", column=True, panel=DIAGNOSTICS),
    "d_real": Statistic("D(x)", column=True),
    "d_fake": Statistic("D(G(z))", column=True, panel=DIAGNOSTICS),
    "critic_real": Statistic("critic(x)", column=True),
    "critic_fake": Statistic("critic(G(z))", column=True, panel=DIAGNOSTICS),
}


def generator_grad_norm(generator: torch.nn.Module) -> torch.Tensor:
    """The L2 norm of all of G's gradients together, as a 0-d tensor (one fused op)."""
    return torch.nn.utils.get_total_norm([p.grad.detach() for p in generator.parameters() if p.grad is not None])


def d_outputs(objective, real_out: torch.Tensor, fake_out: torch.Tensor) -> dict[str, torch.Tensor]:
    """What D says of a real and a fake batch (m,) each, as 0-d tensors: mean probabilities
    d_real, d_fake for a classifier D, mean raw scores critic_real, critic_fake for a critic."""
    if getattr(objective, "d_is_classifier", True):
        return {"d_real": torch.sigmoid(real_out).mean(), "d_fake": torch.sigmoid(fake_out).mean()}
    return {"critic_real": real_out.mean(), "critic_fake": fake_out.mean()}


def make_sampler(generator: torch.nn.Module, z_dim: int, seed: int, device: torch.device):
    """sample(n): G applied to a fixed noise batch (the same z at every eval step), in eval mode
    and without grad; (n, *shape) on the training device."""

    def sample(n: int) -> torch.Tensor:
        return in_eval_mode(generator, generator, eval_noise(n, z_dim, seed).to(device))

    return sample


def train_gan(setup: TrainSetup) -> Iterator[TrainStep]:
    model: GANModel = setup.model
    objective, device, cfg = setup.objective, setup.device, setup.train
    G = kernels.prepare(model.generator.to(device))
    D = model.discriminator.to(device)
    if not getattr(objective, "double_backward", False):  # torch.compile has no double backward
        D = kernels.prepare(D)
    opt_g, opt_d = setup.optimizer(G.parameters()), setup.optimizer(D.parameters())
    rng = torch.Generator(device=device).manual_seed(setup.seed)
    m, k, p = cfg["batch_size"], objective.d_steps, model.pack
    batches = Minibatches(setup.data.train.to(device), m * p, rng)
    penalty = getattr(objective, "penalty", None)
    needs_real = getattr(objective, "generator_needs_real", False)
    reuse_noise = cfg["g_noise"] == "reuse"
    # metrics use the model object: its networks share their parameters with G and D
    context = gan_context(setup)
    checkpointed = ({"generator": model.generator, "discriminator": model.discriminator},
             {"generator": opt_g, "discriminator": opt_d}, rng, batches)
    first, state = resume_parts(setup, *checkpointed)

    def noise() -> torch.Tensor:
        return torch.randn(m * p, model.z_dim, generator=rng, device=device)  # (m * p, z_dim)

    def generate() -> torch.Tensor:
        return pack_samples(G(noise()), p)  # (m, p * shape[0], *shape[1:])

    for step in range(first, cfg["steps"] + 1):
        for d_step in range(k):
            real = pack_samples(batches.next(), p)  # (m * p, *shape) -> (m, p * shape[0], ...)
            keep_graph = reuse_noise and d_step == k - 1  # this fake batch feeds the G step too
            with torch.set_grad_enabled(keep_graph):
                generated = generate()  # (m, p * shape[0], ...)
            fake = generated.detach()
            real_logits, fake_logits = D(real), D(fake)  # (m,), (m,)
            loss_d = objective.discriminator_loss(real_logits, fake_logits)
            if penalty is not None:
                loss_d = loss_d + penalty(D, real, fake)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()

        D.requires_grad_(False)  # G's step needs gradients through D, not for D's weights
        gen_logits = D(generated if reuse_noise else generate())  # (m,)
        with torch.no_grad():
            real_now = D(real) if needs_real else None  # (m,): the updated D on the last real batch
        loss_g = objective.generator_loss(real_now, gen_logits)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        grad_norm = generator_grad_norm(G)
        opt_g.step()
        D.requires_grad_(True)

        stats = {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "g_grad_norm": grad_norm,
                 **d_outputs(objective, real_logits.detach(), gen_logits.detach())}
        yield TrainStep(step, stats, k * m * p, context, state)


def gan_context(setup: TrainSetup) -> EvalContext:
    """What metrics get: samples of G from the fixed eval noise, and the model object."""
    model: GANModel = setup.model
    return EvalContext(setup.data, setup.seed, 0, setup.device,
                       sample=make_sampler(model.generator, model.z_dim, setup.seed, setup.device), model=model)


def evaluate_gan(setup: TrainSetup, state: dict) -> EvalContext:
    """The eval context of a trained GAN: G and D loaded from a trainer state."""
    model: GANModel = setup.model
    model.generator.to(setup.device), model.discriminator.to(setup.device)
    load_modules({"generator": model.generator, "discriminator": model.discriminator}, state)
    return gan_context(setup)


@hookimpl
def register_families(register):
    register(FamilySpec("gan", "Algorithm 1 of Goodfellow et al. 2014: k D steps, then one G step",
                        train_gan, PARAMS, statistics=STATISTICS, model_type=GANModel, evaluator=evaluate_gan,
                        provides=("samples", "model")))
