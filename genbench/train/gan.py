"""The GAN trainer: Goodfellow et al. 2014, Algorithm 1.

    for each training iteration:
        for k steps:  sample m noise z ~ p(z) and m examples x ~ p_data;
                      update D on the objective's discriminator loss
        sample m noise z; update G on the objective's generator loss

With g_noise = "reuse" the generator step reuses the last discriminator step's noise batch (as
pytorch/examples' dcgan does), saving one generator forward per iteration; "fresh" (default)
samples new noise as Algorithm 1 does.

The objective object supplies `d_steps` (k), `discriminator_loss(real_logits, fake_logits)`,
`generator_loss(fake_logits)` and optionally `penalty(discriminator, real, fake)`, all losses
to minimise, and `d_is_classifier` (default True). Everything random (minibatches, noise) comes
from one generator seeded by the cell. At each eval step the trainer records the averages since
the previous eval of: loss_d, loss_g, g_grad_norm (the L2 norm of the generator's gradient,
which shows the saturating objective's vanishing gradient), and what D says of real and fake
batches. For a classifier D (the saturating and nonsaturating objectives: D's output is the
logit of "real") that is d_real = mean sigmoid(D(x)) and d_fake = mean sigmoid(D(G(z))), in
[0, 1]; for a critic (lsgan, hinge, wgan-gp: D's output is a score, and its sigmoid would mean
nothing) it is critic_real = mean D(x) and critic_fake = mean D(G(z)).
"""

from __future__ import annotations

import torch

from genbench import EvalContext, GANModel, TrainerSpec, TrainSetup, TrainStats, hookimpl

from .common import EVAL_NOISE_OFFSET, SAMPLE_CHUNK, IntervalMeans, Minibatches, TrainClock, check_finite


def generator_grad_norm(generator: torch.nn.Module) -> torch.Tensor:
    norms = [p.grad.detach().norm() for p in generator.parameters() if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(norms))


def d_outputs(objective, real_out: torch.Tensor, fake_out: torch.Tensor) -> dict[str, float]:
    """What D says of a real and a fake batch: mean probabilities d_real, d_fake for a classifier
    D, mean raw scores critic_real, critic_fake for a critic (see the module docstring)."""
    if getattr(objective, "d_is_classifier", True):
        return {"d_real": torch.sigmoid(real_out).mean().item(),
                "d_fake": torch.sigmoid(fake_out).mean().item()}
    return {"critic_real": real_out.mean().item(), "critic_fake": fake_out.mean().item()}


def make_sampler(generator: torch.nn.Module, z_dim: int, seed: int, device: torch.device):
    """sample(n): G applied to a fixed noise batch (the same z at every eval step), no grad."""

    def sample(n: int) -> torch.Tensor:
        noise = torch.Generator().manual_seed(seed + EVAL_NOISE_OFFSET)
        z = torch.randn(n, z_dim, generator=noise).to(device)  # (n, z_dim)
        was_training = generator.training
        generator.eval()
        with torch.no_grad():
            out = torch.cat([generator(chunk) for chunk in z.split(SAMPLE_CHUNK)])  # (n, *shape)
        generator.train(was_training)
        return out

    return sample


def train_gan(setup: TrainSetup) -> TrainStats:
    model: GANModel = setup.model
    objective = setup.objective
    device, cfg = setup.device, setup.train
    G, D = model.generator.to(device), model.discriminator.to(device)
    betas = (cfg["beta1"], cfg["beta2"])
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg["lr"], betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg["lr"], betas=betas)
    rng = torch.Generator().manual_seed(setup.seed)
    batches = Minibatches(setup.data.train.to(device), cfg["batch_size"], rng)
    m, k = cfg["batch_size"], objective.d_steps
    penalty = getattr(objective, "penalty", None)
    sampler = make_sampler(G, model.z_dim, setup.seed, device)

    def noise() -> torch.Tensor:
        return torch.randn(m, model.z_dim, generator=rng).to(device)  # (m, z_dim)

    means, clock = IntervalMeans(), TrainClock()
    reuse_noise = cfg["g_noise"] == "reuse"
    for step in range(1, cfg["steps"] + 1):
        clock.start()
        for d_step in range(k):
            real = batches.next()  # (m, *shape)
            keep_graph = reuse_noise and d_step == k - 1  # this fake batch feeds the G step too
            with torch.set_grad_enabled(keep_graph):
                generated = G(noise())  # (m, *shape)
            fake = generated.detach()
            real_logits, fake_logits = D(real), D(fake)  # (m,), (m,)
            loss_d = objective.discriminator_loss(real_logits, fake_logits)
            if penalty is not None:
                loss_d = loss_d + penalty(D, real, fake)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()

        D.requires_grad_(False)  # G's step needs gradients through D, not for D's weights
        gen_logits = D(generated if reuse_noise else G(noise()))  # (m,)
        loss_g = objective.generator_loss(gen_logits)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        grad_norm = generator_grad_norm(G)
        opt_g.step()
        D.requires_grad_(True)

        stats = {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "g_grad_norm": grad_norm.item(),
                 **d_outputs(objective, real_logits.detach(), gen_logits.detach())}
        clock.stop(step)
        check_finite(step, stats, ("loss_d", "loss_g"))
        means.add(stats)
        setup.progress(step)
        if step in setup.eval_steps:
            setup.record(step, means.pop())
            setup.evaluate(step, EvalContext(setup.data, setup.seed, step, device, sample=sampler))
    return TrainStats(steps=cfg["steps"], train_time_s=clock.total, samples_seen=cfg["steps"] * k * m,
                      warmup_steps=1, warmup_time_s=clock.warmup)


@hookimpl
def register_trainers(register):
    register(TrainerSpec("gan", "Algorithm 1 of Goodfellow et al. 2014: k D steps, then one G step",
                         train_gan))
