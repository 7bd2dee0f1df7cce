"""Unsupervised pretraining: does a greedily pretrained stack of denoising autoencoders help a
classifier that sees few labels? (Bengio et al. 2007; Erhan et al. 2010; Vincent et al. 2010.)

The metric trains its own networks from ctx.data and ctx.seed (the cell's model is not used):
1. pretrain, layer by layer, on the unlabelled training images ([0, 1] pixels, flattened): layer
   l is the encoder h_l = sigmoid(W_l h~_{l-1} + b_l) of a denoising autoencoder (masking noise:
   each input zeroed with probability `noise`; untied sigmoid decoder, BCE), trained on the codes
   of the frozen layers below;
2. fine-tune the whole stack plus a linear softmax head on `labels_per_class` labelled images per
   class (0 = every label), cross-entropy;
3. train the same network from its random initialisation on the same labels, with the same head
   initialisation, optimiser (Adam), minibatches and step budget.
It reports test accuracy (%) of both and the gap (pretrained - scratch, points). The output
names end in "@<labels_per_class>" ("@all" for 0), so entries with different label counts fill
different columns of one table. The pretrained stack depends on neither the labels nor the
head, so entries that differ only in labels_per_class or finetune_steps share one stack (memoised).
"""

from __future__ import annotations

import copy
import hashlib
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

from genbench import DataInfo, EvalContext, MetricOutput, MetricResult, MetricSpec, Param, hookimpl

_stack_memo: dict[tuple, list[nn.Linear]] = {}  # the last pretrained stack: entries of one cell share it


def seeded_init(seed: int, build):
    """build() with torch's global RNG seeded (module initialisers use it), leaving it as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def minibatch(n: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """size indices in range(n), without replacement within the batch."""
    return torch.randperm(n, generator=generator)[:size]


def pretrain_layer(inputs: torch.Tensor, width: int, steps: int, noise: float, batch_size: int, lr: float,
                   seed: int) -> nn.Linear:
    """One denoising autoencoder on inputs (N, d) in [0, 1]; returns its encoder Linear(d, width)."""
    encoder, decoder = seeded_init(seed, lambda: (nn.Linear(inputs.shape[1], width), nn.Linear(width, inputs.shape[1])))
    encoder, decoder = encoder.to(inputs.device), decoder.to(inputs.device)
    optimiser = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = inputs[minibatch(len(inputs), batch_size, generator)]  # (m, d)
        keep = (torch.rand(x.shape, generator=generator) >= noise).to(x.device)  # (m, d)
        logits = decoder(torch.sigmoid(encoder(x * keep)))  # (m, d)
        loss = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return encoder


def pretrain_stack(x: torch.Tensor, layers: tuple, steps: int, noise: float, batch_size: int, lr: float,
                   seed: int) -> list[nn.Linear]:
    """Greedy layer-wise pretraining: x (N, D) in [0, 1] -> one trained Linear per layer."""
    stack, inputs = [], x
    for index, width in enumerate(layers):
        encoder = pretrain_layer(inputs, width, steps, noise, batch_size, lr, seed + index)
        stack.append(encoder)
        with torch.no_grad():
            inputs = torch.sigmoid(encoder(inputs))  # (N, width): the next layer's data
    return stack


def classifier(n_in: int, layers: tuple, n_classes: int) -> nn.Sequential:
    """Linear + sigmoid per layer, then a linear head: (B, n_in) -> (B, n_classes) logits."""
    widths = [n_in, *layers]
    body = [module for a, b in pairwise(widths) for module in (nn.Linear(a, b), nn.Sigmoid())]
    return nn.Sequential(*body, nn.Linear(widths[-1], n_classes))


def with_stack(net: nn.Sequential, stack: list[nn.Linear]) -> nn.Sequential:
    """A copy of net whose hidden Linear layers hold the pretrained weights (head unchanged)."""
    net = copy.deepcopy(net)
    for index, encoder in enumerate(stack):
        net[2 * index].load_state_dict(encoder.state_dict())
    return net


def finetune(net: nn.Sequential, x: torch.Tensor, y: torch.Tensor, steps: int, batch_size: int, lr: float,
             seed: int) -> nn.Sequential:
    """Supervised training of every layer: x (n, D), y (n,)."""
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        index = minibatch(len(x), min(batch_size, len(x)), generator)
        loss = F.cross_entropy(net(x[index]), y[index])
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return net


@torch.no_grad()
def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return 100.0 * (net(x).argmax(1) == y).float().mean().item()


def labelled_subset(labels: torch.Tensor, per_class: int, generator: torch.Generator) -> torch.Tensor:
    """Indices of per_class random examples of each class (every example for 0)."""
    if per_class == 0:
        return torch.arange(len(labels))
    chosen = []
    for label in labels.unique():
        members = (labels == label).nonzero().squeeze(1)  # (n_c,)
        chosen.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    return torch.cat(chosen)


def fingerprint(x: torch.Tensor) -> str:
    return hashlib.sha256(x.cpu().numpy().tobytes()).hexdigest()


class Pretraining:
    def __init__(self, layers: tuple, labels_per_class: int, pretrain_steps: int, finetune_steps: int,
                 noise: float, batch_size: int, lr: float):
        if not layers or not all(type(w) is int and w > 0 for w in layers):
            raise ValueError(f"layers must list one or more positive integer widths, got {layers}")
        self.layers, self.labels_per_class = tuple(layers), labels_per_class
        self.pretrain_steps, self.finetune_steps = pretrain_steps, finetune_steps
        self.noise, self.batch_size, self.lr = noise, batch_size, lr

    def stack(self, x: torch.Tensor, seed: int) -> list[nn.Linear]:
        key = (fingerprint(x), seed, self.layers, self.pretrain_steps, self.noise, self.batch_size, self.lr)
        if key not in _stack_memo:
            _stack_memo.clear()
            _stack_memo[key] = pretrain_stack(x, self.layers, self.pretrain_steps, self.noise,
                                              self.batch_size, self.lr, seed)
        return _stack_memo[key]

    def __call__(self, ctx: EvalContext) -> MetricResult:
        data = ctx.data
        if data.train_labels is None or data.test is None or data.test_labels is None:
            raise ValueError("metric 'pretraining' needs a dataset with train and test labels "
                             "(mnist5k, digits, patches32 have them)")
        x_train = ((data.train.flatten(1) + 1) / 2).to(ctx.device)  # (N, D) in [0, 1]
        x_test = ((data.test.flatten(1) + 1) / 2).to(ctx.device)  # (M, D)
        y_train, y_test = data.train_labels.to(ctx.device), data.test_labels.to(ctx.device)
        n_classes = data.info.n_classes or int(y_train.max()) + 1
        labelled = labelled_subset(data.train_labels, self.labels_per_class,
                                   torch.Generator().manual_seed(ctx.seed)).to(ctx.device)

        stack = self.stack(x_train, ctx.seed)
        scratch = seeded_init(ctx.seed, lambda: classifier(x_train.shape[1], self.layers, n_classes)).to(ctx.device)
        pretrained = with_stack(scratch, stack)
        scores = {}
        for name, net in (("acc_pretrained", pretrained), ("acc_scratch", scratch)):
            finetune(net, x_train[labelled], y_train[labelled], self.finetune_steps, self.batch_size, self.lr,
                     ctx.seed)
            scores[name] = accuracy(net, x_test, y_test)
        scores["gap"] = scores["acc_pretrained"] - scores["acc_scratch"]
        suffix = f"@{self.labels_per_class or 'all'}"
        provenance = {"n_labelled": len(labelled), "n_unlabelled": len(x_train), "n_test": len(x_test),
                      "split": "test", "layers": list(self.layers)}
        return MetricResult({name + suffix: value for name, value in scores.items()}, provenance)


def make_pretraining(**params) -> Pretraining:
    return Pretraining(**params)


def labelled(info: DataInfo, **params) -> str | None:
    """MetricSpec.fits: fine-tuning with few labels needs a labelled dataset."""
    if info.n_classes is None:
        return "the dataset has no labels to fine-tune and test the classifier on; use a labelled dataset"
    return None


@hookimpl
def register_metrics(register):
    register(MetricSpec(
        "pretraining", "test accuracy with vs without greedy stacked denoising-AE pretraining, few labels",
        make_pretraining,
        {"layers": Param((500, 500), "hidden widths of the stack (sigmoid units), input side first"),
         "labels_per_class": Param(10, "labelled training images per class for fine-tuning (0 = all)", min=0),
         "pretrain_steps": Param(2000, "Adam steps per pretrained layer", min=0),
         "finetune_steps": Param(1000, "Adam steps of supervised training (both networks)", min=0),
         "noise": Param(0.25, "masking noise of the denoising autoencoders (0 = plain autoencoders)",
                        min=0.0, max=1.0),
         "batch_size": Param(64, "minibatch size of both phases", min=1),
         "lr": Param(1e-3, "Adam learning rate of both phases", min=0.0)},
        outputs={"acc_pretrained": MetricOutput(True, "test accuracy, pretrained then fine-tuned", "%"),
                 "acc_scratch": MetricOutput(True, "test accuracy, same network from random init", "%"),
                 "gap": MetricOutput(True, "pretrained minus scratch accuracy", "points")},
        families=("autoencoder",), domains=("image",), needs=("real", "labels"), fits=labelled,
        repeatable=True))  # values are named <output>@<labels_per_class>
