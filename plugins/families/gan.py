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
all losses to minimise, `after_discriminator_step(discriminator)` (called without grad after
each D optimiser step, e.g. to clip D's weights as WGAN does), `d_is_classifier` (default True),
`generator_needs_real` (default False) and `double_backward` (default False: True when a penalty
differentiates D twice, so D is not handed to kernels.prepare, whose torch.compile has no double
backward). The losses get D's logits as float32 whatever the precision. The generator
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

Class-conditional GANs: a model with `num_classes` K > 0 takes labels y (B,) int64 in 0..K-1,
G(z, y) and D(x, y), and needs a dataset with training labels (`missing_labels`, a model's
`fits`). Each real minibatch comes with its own labels (one index draw picks both), fake labels
are drawn uniformly from the seeded generator beside the noise, and a penalty gets D with the
real batch's labels bound. ACGAN (Odena et al. 2017): an objective with `acgan` > 0 needs a
model with a `classifier` (x -> (B, K) class logits on D's trunk, trained by D's optimiser); it
adds `classification_loss(logits, labels)` on the real and the fake batch to D's loss and on
the fake batch to G's loss. Metrics sample G with labels drawn from the training labels' class
frequencies (so FID compares like with like on an unbalanced dataset; uniform on a balanced one),
and per class through the context's `sample_class(labels)`. PacGAN with a conditional model is
refused.

Options of the published comparisons (train settings, all off by default):
- TTUR (Heusel et al. 2017): G and D get their optimisers from setup.optimizer with role
  "generator" and "discriminator", so a suite's optimizer entry can set each one's own values:
  `{ name = "adam", beta1 = 0.0, generator = { lr = 1e-4 }, discriminator = { lr = 4e-4 } }`.
- ema_decay, ema_start: an exponential moving average of G's weights (ema.py). Metrics and
  pictures then use the averaged G; ema_eval = "raw" uses the trained G, "both" scores both,
  the trained G's values named `<value>_raw` (fid_raw beside fid). The average is checkpointed.
- diffaugment: DiffAugment (Zhao et al. 2020; diffaugment.py) on every batch D judges, real and
  fake, in D's steps and G's step, before packing; penalties see the augmented batches.
- precision: bf16 / fp16 forward passes under autocast (common.MixedPrecision).

Each step yields, as 0-d tensors left on the device: loss_d (the last D step's), loss_g,
g_grad_norm (the L2 norm of the generator's gradient, which shows the saturating objective's
vanishing gradient), and what D says of real and fake batches. For a classifier D (the
saturating and nonsaturating objectives: D's output is the logit of "real") that is d_real =
mean sigmoid(D(x)) and d_fake = mean sigmoid(D(G(z))), in [0, 1]; for a critic (lsgan, hinge,
wgan-gp, the relativistic losses: D's output is a score, and its sigmoid would mean nothing) it
is critic_real = mean D(x) and critic_fake = mean D(G(z)).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import replace
from functools import partial

import torch

from genbench import (
    ConfigError, Data, DataInfo, EvalContext, FamilySpec, Param, Statistic, TrainSetup, TrainStep, hookimpl,
)
from genbench import kernels
from genbench.plugins.models.gan import LABELLED, GANModel, pack_samples

from . import diffaugment
from .common import (
    PRECISION,
    MixedPrecision,
    Minibatches,
    eval_labels,
    eval_noise,
    in_eval_mode,
    load_modules,
    resume_parts,
    settings,
)
from .ema import WeightAverage


PARAMS = {
    "g_noise": Param("fresh", "noise of the generator step: fresh (Algorithm 1) or reuse the last D "
                     "step's batch (pytorch/examples' dcgan; one generator forward fewer)",
                     choices=("fresh", "reuse")),
    "ema_decay": Param(0.0, "exponential moving average of G's weights, ema <- decay * ema + (1 - decay) * G "
                       "after each G step (e.g. 0.999); metrics and pictures then use it; 0 = off",
                       min=0.0, max=0.999999, id_if_default=False),
    "ema_start": Param(0, "G steps during which the average copies G's weights (the EMA's warm-up)",
                       min=0, id_if_default=False),
    "ema_eval": Param("ema", "which G metrics score when ema_decay > 0: ema, raw (the trained G), or both "
                      "(the trained G's values named <value>_raw, e.g. fid_raw)",
                      choices=("ema", "raw", "both"), id_if_default=False),
    "diffaugment": Param("", "DiffAugment (Zhao et al. 2020) of every image D judges, real and fake: a "
                         "comma-separated list of translation, cutout, color (\"\" = off)", id_if_default=False),
    "precision": PRECISION,
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


def make_class_samplers(model: GANModel, train_labels: torch.Tensor, seed: int, device: torch.device):
    """(sample(n), sample_class(labels)) of a conditional G: G(z, y) on the fixed eval noise, y
    the given labels (n,) or n labels drawn from the training labels' class frequencies (the
    same at every eval step); in eval mode, without grad, (n, *shape) on the training device."""
    frequencies = torch.bincount(train_labels.cpu(), minlength=model.num_classes)  # (K,)

    def sample_class(labels: torch.Tensor) -> torch.Tensor:
        z = eval_noise(len(labels), model.z_dim, seed).to(device)  # (n, z_dim)
        return in_eval_mode(model.generator, model.generator, z, labels.to(device))

    def sample(n: int) -> torch.Tensor:
        return sample_class(eval_labels(n, frequencies, seed))

    return sample, sample_class


def check_conditional(model: GANModel, data: Data, objective) -> None:
    """ConfigError, before any training, for a model, dataset and objective that cannot train
    together: a conditional model without training labels or with packing, ACGAN without a
    classifier."""
    if model.num_classes and data.train_labels is None:
        raise ConfigError("a class-conditional GAN is trained with class labels, and this dataset's training "
                          f"split has none; fix: {LABELLED}, or an unconditional model")
    if model.num_classes and model.pack > 1:
        raise ConfigError(f"PacGAN (pack = {model.pack}) with a class-conditional model is not supported: D "
                          "would judge p samples of p classes at once; fix: pack = 1 or an unconditional model")
    if getattr(objective, "acgan", 0) > 0 and model.classifier is None:
        raise ConfigError("the objective's acgan term needs a model with an auxiliary classifier (an ACGAN "
                          "discriminator head, e.g. cmlp with d_head = \"acgan\"); fix: acgan = 0 or such a model")


def discriminator_parameters(model: GANModel, D: torch.nn.Module) -> list[torch.nn.Parameter]:
    """D's parameters, then the ACGAN classifier's that D does not share (each once)."""
    heads = [] if model.classifier is None else list(model.classifier.parameters())
    return list(dict.fromkeys([*D.parameters(), *heads]))


def train_gan(setup: TrainSetup) -> Iterator[TrainStep]:
    model: GANModel = setup.model
    objective, device, cfg = setup.objective, setup.device, settings(setup, PARAMS)
    check_conditional(model, setup.data, objective)
    problem = check_settings(setup.data.info, cfg)  # (a suite checked them; a [search] draw was not)
    if problem:
        raise ValueError(problem)
    G = kernels.prepare(model.generator.to(device))
    D = model.discriminator.to(device)
    if not getattr(objective, "double_backward", False):  # torch.compile has no double backward
        D = kernels.prepare(D)
    C = None if model.classifier is None else model.classifier.to(device)  # ACGAN: x -> (B, K) class logits
    opt_g = setup.optimizer(G.parameters(), role="generator")
    opt_d = setup.optimizer(discriminator_parameters(model, D), role="discriminator")
    rng = torch.Generator(device=device).manual_seed(setup.seed)
    m, k, p, K = cfg["batch_size"], objective.d_steps, model.pack, model.num_classes
    train_x = setup.data.train.to(device)  # (N, *shape)
    train_y = setup.data.train_labels.to(device) if K else None  # (N,): a conditional GAN's labels
    batches = Minibatches(torch.arange(len(train_x), device=device), m * p, rng)  # indices: x, y stay paired
    penalty = getattr(objective, "penalty", None)
    after_d_step = getattr(objective, "after_discriminator_step", None)
    needs_real = getattr(objective, "generator_needs_real", False)
    acgan = getattr(objective, "acgan", 0) > 0
    reuse_noise = cfg["g_noise"] == "reuse"
    augment = diffaugment.augmenter(cfg["diffaugment"], rng)  # the identity when off
    amp = MixedPrecision(cfg["precision"], device)
    ema = WeightAverage(model.generator, cfg["ema_decay"], cfg["ema_start"]) if cfg["ema_decay"] > 0 else None
    # metrics use the model object: its networks share their parameters with G and D
    context = gan_context(setup, ema and ema.module)
    networks = {"generator": model.generator, "discriminator": model.discriminator,
                **({"classifier": C} if C is not None else {}), **({"generator_ema": ema.module} if ema else {})}
    checkpointed = (networks, {"generator": opt_g, "discriminator": opt_d, **amp.state()}, rng, batches)
    first, state = resume_parts(setup, *checkpointed)

    def noise() -> torch.Tensor:
        return torch.randn(m * p, model.z_dim, generator=rng, device=device)  # (m * p, z_dim)

    def fake_labels() -> torch.Tensor | None:
        return torch.randint(K, (m,), generator=rng, device=device) if K else None  # (m,) uniform, or None

    def generate(y: torch.Tensor | None) -> torch.Tensor:
        z = noise()
        return G(z) if y is None else G(z, y)  # (m * p, *shape)

    def judged(x: torch.Tensor) -> torch.Tensor:
        return pack_samples(augment(x), p)  # (m * p, *shape) -> D's input (m, p * shape[0], ...)

    def judge(x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return (D(x) if y is None else D(x, y)).float()  # (m,) logits, in fp32 for the losses

    for step in range(first, cfg["steps"] + 1):
        for d_step in range(k):
            keep_graph = reuse_noise and d_step == k - 1  # this fake batch feeds the G step too
            index = batches.next()  # (m * p,)
            real_y = None if train_y is None else train_y[index]  # (m,): the real batch's own labels
            fake_y = fake_labels()
            with amp.autocast():
                real = judged(train_x[index])  # (m, p * shape[0], ...)
                with torch.set_grad_enabled(keep_graph):
                    generated = generate(fake_y)  # (m * p, *shape)
                fake = judged(generated.detach())
                real_logits, fake_logits = judge(real, real_y), judge(fake, fake_y)  # (m,), (m,)
                loss_d = objective.discriminator_loss(real_logits, fake_logits)
                if penalty is not None:  # a conditional D is judged with the real labels
                    loss_d = loss_d + penalty(D if real_y is None else partial(judge, y=real_y), real, fake)
                if acgan:  # D also classifies the real batch (its labels) and the fake one (the drawn labels)
                    loss_d = (loss_d + objective.classification_loss(C(real).float(), real_y)
                              + objective.classification_loss(C(fake).float(), fake_y))
            amp.backward(loss_d, opt_d)
            amp.step(opt_d)
            if after_d_step is not None:
                with torch.no_grad():
                    after_d_step(D)

        requires_grad((D, C), False)  # G's step needs gradients through D, not for D's weights
        with amp.autocast():
            if not reuse_noise:
                fake_y = fake_labels()
                generated = generate(fake_y)
            shown = judged(generated)  # (m, p * shape[0], ...)
            gen_logits = judge(shown, fake_y)  # (m,)
            with torch.no_grad():
                real_now = judge(real, real_y) if needs_real else None  # (m,): the updated D on the last real batch
            loss_g = objective.generator_loss(real_now, gen_logits)
            if acgan:  # G makes its samples classified as their labels
                loss_g = loss_g + objective.classification_loss(C(shown).float(), fake_y)
        amp.backward(loss_g, opt_g)
        grad_norm = generator_grad_norm(G)
        amp.step(opt_g)
        requires_grad((D, C), True)
        if ema is not None:
            ema.update(model.generator, step)

        stats = {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "g_grad_norm": grad_norm,
                 **d_outputs(objective, real_logits.detach(), gen_logits.detach())}
        yield TrainStep(step, stats, k * m * p, context, state)


def requires_grad(networks, flag: bool) -> None:
    """requires_grad_(flag) on each network that is not None."""
    for network in networks:
        if network is not None:
            network.requires_grad_(flag)


def generator_context(setup: TrainSetup, generator: torch.nn.Module) -> EvalContext:
    """Samples of `generator` (G or its weight average) from the fixed eval noise (a conditional
    G's also per class), and the model object with that generator."""
    model: GANModel = setup.model
    if generator is not model.generator:
        model = replace(model, generator=generator)
    if model.num_classes:
        sample, sample_class = make_class_samplers(model, setup.data.train_labels, setup.seed, setup.device)
        return EvalContext(setup.data, setup.seed, 0, setup.device, sample=sample, sample_class=sample_class,
                           model=model)
    return EvalContext(setup.data, setup.seed, 0, setup.device,
                       sample=make_sampler(generator, model.z_dim, setup.seed, setup.device), model=model)


def gan_context(setup: TrainSetup, averaged: torch.nn.Module | None) -> EvalContext:
    """What metrics get: samples of G (of its weight average, when there is one and ema_eval
    asks for it), and the model object; with ema_eval = "both", the trained G as the "raw"
    variant."""
    raw = generator_context(setup, setup.model.generator)
    which = settings(setup, PARAMS)["ema_eval"]
    if averaged is None or which == "raw":
        return raw
    smoothed = generator_context(setup, averaged)
    return replace(smoothed, variants={"raw": raw}) if which == "both" else smoothed


def evaluate_gan(setup: TrainSetup, state: dict) -> EvalContext:
    """The eval context of a trained GAN: G, D (and G's weight average) loaded from a trainer state."""
    model: GANModel = setup.model
    check_conditional(model, setup.data, None)
    model.generator.to(setup.device), model.discriminator.to(setup.device)
    networks = {"generator": model.generator, "discriminator": model.discriminator}
    averaged = copy.deepcopy(model.generator) if "generator_ema" in state["modules"] else None
    load_modules({**networks, **({"generator_ema": averaged} if averaged is not None else {})}, state)
    return gan_context(setup, averaged)


def check_settings(info: DataInfo, train: Mapping) -> str | None:
    """Why these train settings cannot train a GAN on this data (FamilySpec.fits)."""
    if train["ema_decay"] == 0 and train["ema_eval"] != "ema":
        return (f"ema_eval = {train['ema_eval']!r} chooses between G and its weight average, but ema_decay = 0 "
                "keeps none; set ema_decay, or leave ema_eval out")
    if train["ema_decay"] == 0 and train["ema_start"] > 0:
        return "ema_start is the weight average's warm-up, but ema_decay = 0 keeps none; set ema_decay"
    return diffaugment.problem(train["diffaugment"], info)


@hookimpl
def register_families(register):
    register(FamilySpec("gan", "Algorithm 1 of Goodfellow et al. 2014: k D steps, then one G step",
                        train_gan, PARAMS, statistics=STATISTICS, model_type=GANModel, evaluator=evaluate_gan,
                        optimizer_roles=("generator", "discriminator"), fits=check_settings,
                        objective_contract={"discriminator_loss": 2, "generator_loss": 2},
                        objective_optional={"penalty": 3, "after_discriminator_step": 1, "classification_loss": 2},
                        provides=("samples", "model", "classes")))  # classes: ctx.sample_class of a conditional G
