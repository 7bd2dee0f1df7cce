"""What the family trainers share: minibatches, the fixed eval noise (and eval class labels),
eval-mode forward passes, the checkpointable state of their networks, optimisers and generator,
and mixed precision.

Training draws everything random from one torch.Generator on the training device, seeded by the
cell (on the CPU that is the stream torch.Generator() gives), so a step moves nothing between
host and device. Evaluation draws its noise on the CPU, so every device pictures the same z.

Mixed precision (the `precision` train setting every built-in family declares): bf16 and fp16
run the forward passes and losses under torch.autocast, and fp16 scales the loss with a
torch.amp.GradScaler (on CUDA and on the CPU, which torch's autocast supports too). Only the
trainer knows where its forward passes end, so each trainer wraps them (`MixedPrecision`);
backward passes and optimiser steps stay outside autocast, where torch's AMP recipe puts them
(its cast cache would otherwise serve weights from before an optimiser step). Evaluation (the
samples metrics and pictures use) runs in fp32. A GradScaler reads its inf check back to the
host at every step: fp16 costs one host sync per optimiser step; bf16 and fp32 none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager

import torch

from genbench import Param, TrainSetup

EVAL_NOISE_OFFSET = 1_000_003  # eval noise stream: seed + offset, apart from the training stream
EVAL_LABEL_OFFSET = 2_000_003  # eval class labels of a conditional model: a stream of their own
SAMPLE_CHUNK = 1024  # examples per forward pass when sampling or reconstructing for metrics
AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
PRECISION = Param("fp32", "floating point of training's forward passes and losses: fp32, or bf16 / fp16 "
                  "under torch.autocast (fp16 with a GradScaler); evaluation runs in fp32",
                  choices=tuple(AUTOCAST_DTYPES), id_if_default=False)


def settings(setup: TrainSetup, params: Mapping[str, Param]) -> dict:
    """setup.train with the family's own settings it lacks at their defaults: the runner passes
    every setting, a script or a test that builds a TrainSetup by hand may leave them out."""
    return {**{key: param.default for key, param in params.items()}, **setup.train}


class MixedPrecision:
    """A trainer's precision: `autocast()` around its forward passes and losses, then
    `backward(loss, optimiser)` (zero_grad, the loss scaled for fp16, gradients unscaled, so
    they are the true gradients afterwards) and `step(optimiser)`. At fp32 these are plain
    zero_grad, backward and step."""

    def __init__(self, precision: str, device: torch.device):
        self.device_type, self.dtype = device.type, AUTOCAST_DTYPES[precision]
        self.scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")

    def autocast(self) -> AbstractContextManager:
        return torch.autocast(self.device_type, dtype=self.dtype, enabled=self.dtype is not None)

    def backward(self, loss: torch.Tensor, optimiser: torch.optim.Optimizer) -> None:
        optimiser.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.scaler.is_enabled():
            self.scaler.unscale_(optimiser)

    def step(self, optimiser: torch.optim.Optimizer) -> None:
        self.scaler.step(optimiser)  # (skipped when fp16 gradients overflowed)
        self.scaler.update()

    def state(self) -> dict[str, torch.amp.GradScaler]:
        """What a checkpoint keeps beside the optimisers: the loss scale (fp16 only)."""
        return {"grad_scaler": self.scaler} if self.scaler.is_enabled() else {}


class Minibatches:
    """Epochs of shuffled minibatches drawn from `data` (N, ...) with a seeded generator on the
    data's device."""

    def __init__(self, data: torch.Tensor, batch_size: int, generator: torch.Generator):
        if len(data) < batch_size:
            raise ValueError(f"batch_size {batch_size} is larger than the {len(data)} training examples")
        self.data, self.batch_size, self.generator = data, batch_size, generator
        self.order, self.position = torch.empty(0, dtype=torch.long, device=data.device), 0

    def next(self) -> torch.Tensor:
        if self.position + self.batch_size > len(self.order):
            self.order = torch.randperm(len(self.data), generator=self.generator, device=self.data.device)  # (N,)
            self.position = 0
        index = self.order[self.position:self.position + self.batch_size]  # (m,)
        self.position += self.batch_size
        return self.data[index]  # (m, *shape)

    def state(self) -> dict:
        """The epoch's order (N,) or (0,) and the position in it."""
        return {"order": self.order, "position": self.position}

    def load_state(self, state: dict) -> None:
        self.order, self.position = state["order"].to(self.data.device), int(state["position"])


def trainer_state(modules: dict[str, torch.nn.Module], optimisers: dict[str, torch.optim.Optimizer],
                  generator: torch.Generator, batches: Minibatches) -> dict:
    """What TrainStep.state returns for a trainer built of these parts: everything it needs to
    continue bit-identically (state dicts, the generator's state, the sampler's position).
    `optimisers` may hold anything with state_dict / load_state_dict (a GradScaler too)."""
    return {"modules": {name: m.state_dict() for name, m in modules.items()},
            "optimisers": {name: o.state_dict() for name, o in optimisers.items()},
            "generator": generator.get_state(), "batches": batches.state()}


def load_modules(modules: dict[str, torch.nn.Module], state: dict) -> None:
    """The modules' parameters and buffers from a trainer_state() (what an evaluator needs)."""
    for name, module in modules.items():
        module.load_state_dict(state["modules"][name])


def load_trainer_state(state: dict, modules: dict[str, torch.nn.Module],
                       optimisers: dict[str, torch.optim.Optimizer], generator: torch.Generator,
                       batches: Minibatches) -> None:
    """Everything trainer_state() saved, back into freshly built parts."""
    load_modules(modules, state)
    for name, optimiser in optimisers.items():
        optimiser.load_state_dict(state["optimisers"][name])
    generator.set_state(state["generator"])
    batches.load_state(state["batches"])


def resume_parts(setup, modules: dict[str, torch.nn.Module], optimisers: dict[str, torch.optim.Optimizer],
                 generator: torch.Generator, batches: Minibatches) -> tuple[int, Callable[[], dict]]:
    """The first step a trainer built of these parts trains, and its TrainStep.state function;
    when the cell resumes, the parts are loaded from the checkpoint first."""
    parts = (modules, optimisers, generator, batches)
    if setup.resume is not None:
        load_trainer_state(setup.resume.state, *parts)
    first = 1 if setup.resume is None else setup.resume.step + 1
    return first, lambda: trainer_state(*parts)


def eval_noise(n: int, dim: int, seed: int) -> torch.Tensor:
    """z ~ N(0, I) of shape (n, dim) from the eval stream: the same z at every eval step."""
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed + EVAL_NOISE_OFFSET))


def eval_labels(n: int, frequencies: torch.Tensor, seed: int) -> torch.Tensor:
    """n class labels (n,) int64 drawn with the given class frequencies (K,) from the eval label
    stream: the same labels at every eval step."""
    generator = torch.Generator().manual_seed(seed + EVAL_LABEL_OFFSET)
    return torch.multinomial(frequencies.double(), n, replacement=True, generator=generator)


def in_eval_mode(module: torch.nn.Module, fn: Callable[..., torch.Tensor],
                 *inputs: torch.Tensor) -> torch.Tensor:
    """fn applied chunk by chunk to inputs (n, ...), each on the module's device (chunk i of
    every input together), with the module in eval mode and no grad; the result (n, ...) comes
    back on the first input's device."""
    device = next(module.parameters()).device
    was_training = module.training
    module.eval()
    with torch.no_grad():
        chunks = zip(*(x.split(SAMPLE_CHUNK) for x in inputs), strict=True)
        out = torch.cat([fn(*(x.to(device) for x in chunk)) for chunk in chunks])
    module.train(was_training)
    return out.to(inputs[0].device)
