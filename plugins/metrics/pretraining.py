"""Unsupervised pretraining: does a greedily pretrained stack help a classifier that sees few
labels? Stacked denoising autoencoders or a deep belief network against no pretraining, as
Bengio et al. 2007 compared them (also Erhan et al. 2010; Vincent et al. 2010; Hinton, Osindero
& Teh 2006).

The metric trains its own networks from ctx.data and ctx.seed (the cell's model is not used):
1. pretrain, layer by layer, on the unlabelled training images ([0, 1] pixels, flattened), each
   layer on the codes of the frozen layers below. `method = "dae"`: layer l is the encoder
   h_l = sigmoid(W_l h~_{l-1} + b_l) of a denoising autoencoder (masking noise: each input zeroed
   with probability `noise`; untied sigmoid decoder, BCE; Adam). `method = "dbn"`: layer l is an
   RBM with `width` hidden units trained by CD-k (SGD with momentum 0.9, weight cost 1e-4 on the
   weights, visible biases from the data's log-odds: the rbm family's recipe) on the hidden
   probabilities below; its weights and hidden biases become the layer's Linear;
2. fine-tune the whole stack plus a linear softmax head on `labels_per_class` labelled images per
   class (0 = every label), cross-entropy, Adam. By default (`patience` > 0) a `val_fraction` of
   each class's labelled images is held out and training stops early on it (plugins/metrics/
   finetuning.py: checked every `check_every` steps, stopped after `patience` checks without
   improvement or at `max_steps`, the best weights restored): the network at convergence;
3. train the same network from its random initialisation on the same labels, with the same head
   initialisation, optimiser (Adam), minibatches and stopping rule: the "none" arm.
It reports test accuracy (%) of both and the gap (pretrained - scratch, points) at convergence,
and the gap after `finetune_steps` steps of both arms' same trajectories (the equal-budget gap,
which with few steps leaves the slower arm short of convergence): acc_pretrained, acc_scratch,
gap, gap_equal_steps for "dae"; acc_dbn, gap_dbn, gap_dbn_equal_steps for "dbn" (its scratch
accuracy, the same network and numbers as the dae entry's, goes in the provenance), so both
arms fill one table. The provenance holds the equal-step accuracies, the step each arm's
weights come from and the step it stopped at, and `protocol`: "early-stopping", or
"fixed-steps" for `patience = 0`, the protocol of genbench before early stopping (every
labelled image, `finetune_steps` steps; both gaps are then that one). Names end in
"@<labels_per_class>" ("@all" for 0), so entries with different label counts fill different
columns. The pretrained stack depends on neither the labels nor the head, so entries that differ
only in labels_per_class or finetune_steps share one stack (memoised), and the dbn entries
reuse the scratch arm the dae entries trained (memoised).
"""

from __future__ import annotations

import copy
import hashlib
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

from genbench import ConfigError, DataInfo, EvalContext, MetricOutput, MetricResult, MetricSpec, Param, hookimpl
from genbench.plugins.families.rbm import contrastive_loss
from genbench.plugins.metrics.finetuning import (
    Stopping,
    finetune_early_stopping,
    finetune_fixed,
    minibatch,
    validation_split,
)
from genbench.plugins.models.rbm import RBM
from genbench.plugins.objectives.rbm import ContrastiveDivergence

RBM_MOMENTUM, RBM_WEIGHT_COST = 0.9, 1e-4
_stack_memo: dict[tuple, list[nn.Linear]] = {}  # the last pretrained stack: entries of one cell share it
_scratch_memo: dict[tuple, dict] = {}  # scratch arms of the last data and seed: dbn entries reuse dae's


def seeded_init(seed: int, build):
    """build() with torch's global RNG seeded (module initialisers use it), leaving it as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


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


def pretrain_rbm_layer(inputs: torch.Tensor, width: int, steps: int, k: int, batch_size: int, lr: float,
                       seed: int) -> nn.Linear:
    """One RBM trained by CD-k on inputs (N, d) in [0, 1]; returns Linear(d, width) holding its
    weights and hidden biases (the layer's up pass)."""
    rbm = seeded_init(seed, lambda: RBM((inputs.shape[1],), width, 0.01)).to(inputs.device)
    rbm.init_visible_bias(2 * inputs - 1)  # the RBM takes data in [-1, 1]
    optimiser = torch.optim.SGD([{"params": [rbm.weight], "weight_decay": RBM_WEIGHT_COST},
                                 {"params": [rbm.visible_bias, rbm.hidden_bias]}], lr=lr, momentum=RBM_MOMENTUM)
    cd, generator = ContrastiveDivergence(k), torch.Generator().manual_seed(seed)
    for _ in range(steps):
        v = inputs[minibatch(len(inputs), batch_size, generator).to(inputs.device)]  # (m, d)
        loss = contrastive_loss(rbm, v, cd.negatives(rbm, v, generator))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    layer = nn.Linear(inputs.shape[1], width).to(inputs.device)
    with torch.no_grad():
        layer.weight.copy_(rbm.weight)  # (width, d)
        layer.bias.copy_(rbm.hidden_bias)
    return layer


def pretrain_stack(x: torch.Tensor, layers: tuple, train_layer, seed: int) -> list[nn.Linear]:
    """Greedy layer-wise pretraining: x (N, D) in [0, 1] -> one trained Linear per layer;
    train_layer(inputs, width, seed) trains one layer (a DAE's encoder or an RBM's up pass)."""
    stack, inputs = [], x
    for index, width in enumerate(layers):
        encoder = train_layer(inputs, width, seed + index)
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
    def __init__(self, method: str, layers: tuple, labels_per_class: int, pretrain_steps: int, finetune_steps: int,
                 noise: float, k: int, rbm_lr: float, batch_size: int, lr: float, val_fraction: float, patience: int,
                 check_every: int, max_steps: int):
        if not layers or not all(type(w) is int and w > 0 for w in layers):
            raise ValueError(f"layers must list one or more positive integer widths, got {layers}")
        if patience and not 0 < val_fraction < 1:
            raise ConfigError(f"metric 'pretraining': val_fraction = {val_fraction:g} leaves no validation split "
                              f"or no training split for early stopping (patience = {patience}); fix: a fraction "
                              f"between 0 and 1 such as 0.2, or patience = 0 for fixed steps")
        self.method, self.layers, self.labels_per_class = method, tuple(layers), labels_per_class
        self.pretrain_steps, self.finetune_steps = pretrain_steps, finetune_steps
        self.noise, self.k, self.rbm_lr, self.batch_size, self.lr = noise, k, rbm_lr, batch_size, lr
        self.rule = Stopping(val_fraction, patience, check_every, max_steps) if patience else None

    def train_layer(self, inputs: torch.Tensor, width: int, seed: int) -> nn.Linear:
        if self.method == "dbn":
            return pretrain_rbm_layer(inputs, width, self.pretrain_steps, self.k, self.batch_size, self.rbm_lr, seed)
        return pretrain_layer(inputs, width, self.pretrain_steps, self.noise, self.batch_size, self.lr, seed)

    def stack(self, x: torch.Tensor, seed: int) -> list[nn.Linear]:
        layer_params = (self.k, self.rbm_lr) if self.method == "dbn" else (self.noise, self.lr)
        key = (fingerprint(x), seed, self.method, self.layers, self.pretrain_steps, self.batch_size, *layer_params)
        if key not in _stack_memo:
            _stack_memo.clear()
            _stack_memo[key] = pretrain_stack(x, self.layers, self.train_layer, seed)
        return _stack_memo[key]

    def finetune(self, net: nn.Sequential, fit: tuple, val: tuple | None, test: tuple, seed: int) -> dict:
        """Fine-tune net on fit = (x, y) (stopping early on val, or for finetune_steps steps
        without one); its test accuracy then and after finetune_steps steps, and the steps."""
        if self.rule is None:
            finetune_fixed(net, *fit, self.finetune_steps, self.batch_size, self.lr, seed)
            acc = accuracy(net, *test)
            return {"acc": acc, "acc_equal_steps": acc, "best_step": self.finetune_steps,
                    "stopped_at": self.finetune_steps}
        run = finetune_early_stopping(net, fit, val, self.rule, self.batch_size, self.lr, seed, self.finetune_steps,
                                      lambda trained: accuracy(trained, *test))
        return {"acc": accuracy(net, *test), "acc_equal_steps": run.probed, "best_step": run.best_step,
                "stopped_at": run.stopped_at}

    def __call__(self, ctx: EvalContext) -> MetricResult:
        data = ctx.data
        if data.train_labels is None or data.test is None or data.test_labels is None:
            raise ValueError("metric 'pretraining' needs a dataset with train and test labels "
                             "(mnist5k, digits, patches32 have them)")
        x_train = ((data.train.flatten(1) + 1) / 2).to(ctx.device)  # (N, D) in [0, 1]
        x_test = ((data.test.flatten(1) + 1) / 2).to(ctx.device)  # (M, D)
        y_train, y_test = data.train_labels.to(ctx.device), data.test_labels.to(ctx.device)
        n_classes = data.info.n_classes or int(y_train.max()) + 1
        generator = torch.Generator().manual_seed(ctx.seed)
        labelled = labelled_subset(data.train_labels, self.labels_per_class, generator)  # (n,) on the CPU
        fit_index, val_index = labelled, None
        if self.rule is not None:
            fit_index, val_index = validation_split(data.train_labels, labelled, self.rule.val_fraction, generator)
        fit = (x_train[fit_index.to(ctx.device)], y_train[fit_index.to(ctx.device)])  # (n_fit, D), (n_fit,)
        val = None if val_index is None else (x_train[val_index.to(ctx.device)], y_train[val_index.to(ctx.device)])

        stack = self.stack(x_train, ctx.seed)
        scratch = seeded_init(ctx.seed, lambda: classifier(x_train.shape[1], self.layers, n_classes)).to(ctx.device)
        pretrained = with_stack(scratch, stack)
        arms = {"pretrained": self.finetune(pretrained, fit, val, (x_test, y_test), ctx.seed)}
        scope = (fingerprint(x_train), fingerprint(y_train), fingerprint(x_test), fingerprint(y_test), ctx.seed)
        key = (*scope, self.layers, self.labels_per_class, self.finetune_steps, self.rule, self.batch_size, self.lr)
        if any(known[:len(scope)] != scope for known in _scratch_memo):
            _scratch_memo.clear()
        if key not in _scratch_memo:
            _scratch_memo[key] = self.finetune(scratch, fit, val, (x_test, y_test), ctx.seed)
        arms["scratch"] = _scratch_memo[key]

        gap = arms["pretrained"]["acc"] - arms["scratch"]["acc"]
        gap_equal_steps = arms["pretrained"]["acc_equal_steps"] - arms["scratch"]["acc_equal_steps"]
        provenance = {"n_labelled": len(labelled), "n_fit": len(fit_index),
                      "n_val": 0 if val_index is None else len(val_index), "n_unlabelled": len(x_train),
                      "n_test": len(x_test), "split": "test", "layers": list(self.layers), "method": self.method,
                      "protocol": "fixed-steps" if self.rule is None else "early-stopping",
                      "equal_steps": self.finetune_steps,
                      **{field: {arm: arms[arm][field] for arm in arms}
                         for field in ("acc_equal_steps", "best_step", "stopped_at")}}
        suffix = f"@{self.labels_per_class or 'all'}"
        if self.method == "dbn":
            provenance["acc_scratch"] = arms["scratch"]["acc"]
            return MetricResult({f"acc_dbn{suffix}": arms["pretrained"]["acc"], f"gap_dbn{suffix}": gap,
                                 f"gap_dbn_equal_steps{suffix}": gap_equal_steps}, provenance)
        return MetricResult({f"acc_pretrained{suffix}": arms["pretrained"]["acc"],
                             f"acc_scratch{suffix}": arms["scratch"]["acc"], f"gap{suffix}": gap,
                             f"gap_equal_steps{suffix}": gap_equal_steps}, provenance)


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
        "pretraining", "test accuracy with vs without greedy stacked DAE or RBM (DBN) pretraining, few labels",
        make_pretraining,
        {"method": Param("dae", "what pretrains each layer: a denoising autoencoder or an RBM (a deep belief net)",
                         choices=("dae", "dbn"), id_if_default=False),
         "layers": Param((500, 500), "hidden widths of the stack (sigmoid units), input side first"),
         "labels_per_class": Param(10, "labelled training images per class for fine-tuning (0 = all)", min=0),
         "pretrain_steps": Param(2000, "steps per pretrained layer (Adam for dae, CD-k SGD for dbn)", min=0),
         "finetune_steps": Param(1000, "the equal budget: Adam steps of both networks for gap_equal_steps "
                                       "(for every output when patience = 0)", min=0),
         "noise": Param(0.25, "masking noise of the denoising autoencoders (0 = plain autoencoders)",
                        min=0.0, max=1.0),
         "k": Param(1, "dbn: Gibbs steps of the RBMs' contrastive divergence", min=1, max=1000,
                    id_if_default=False),
         "rbm_lr": Param(0.05, "dbn: SGD learning rate of the RBMs (momentum 0.9)", min=0.0, max=1.0,
                         id_if_default=False),
         "batch_size": Param(64, "minibatch size of both phases", min=1),
         "lr": Param(1e-3, "Adam learning rate of fine-tuning (and of dae pretraining)", min=0.0),
         "val_fraction": Param(0.2, "early stopping: share of each class's labelled images held out as the "
                                    "validation split (not trained on)", min=0.0, max=1.0, id_if_default=False),
         "patience": Param(10, "early stopping: checks without validation improvement before fine-tuning "
                               "stops (0 = no early stopping: finetune_steps steps on every label)", min=0,
                           id_if_default=False),
         "check_every": Param(100, "early stopping: steps between validation checks", min=1, id_if_default=False),
         "max_steps": Param(10_000, "early stopping: the most fine-tuning steps of either network", min=1,
                            id_if_default=False)},
        outputs={"acc_pretrained": MetricOutput(True, "test accuracy, pretrained then fine-tuned", "%"),
                 "acc_scratch": MetricOutput(True, "test accuracy, same network from random init", "%"),
                 "gap": MetricOutput(True, "pretrained minus scratch accuracy, each early-stopped", "points"),
                 "gap_equal_steps": MetricOutput(True, "pretrained minus scratch accuracy after finetune_steps "
                                                       "steps each", "points"),
                 "acc_dbn": MetricOutput(True, "test accuracy, DBN-pretrained then fine-tuned", "%"),
                 "gap_dbn": MetricOutput(True, "DBN-pretrained minus scratch accuracy, each early-stopped",
                                         "points"),
                 "gap_dbn_equal_steps": MetricOutput(True, "DBN-pretrained minus scratch accuracy after "
                                                           "finetune_steps steps each", "points")},
        domains=("image",), needs=("real", "labels"), fits=labelled,
        repeatable=True))  # values are named <output>@<labels_per_class>
