"""The deep-belief-network arm of the pretraining study (Hinton, Osindero & Teh 2006; Bengio et
al. 2007 compared it with stacked autoencoders and no pretraining): `dbn-pretraining`.

It runs the `pretraining` metric's protocol (plugins/metrics/pretraining.py: same classifier,
same head initialisation, same fine-tuning, minibatches and budget, same labelled subset) with
the denoising autoencoders replaced by restricted Boltzmann machines:
1. pretrain greedily, layer by layer, on the unlabelled training images ([0, 1] pixels used as
   probabilities, flattened): layer l is an RBM with `width` hidden units trained by CD-k
   (SGD with momentum 0.9, weight cost 1e-4 on the weights, visible biases from the data's
   log-odds: the rbm family's recipe) on the hidden probabilities of the frozen layers below;
   its weights and hidden biases become the layer's Linear, h_l = sigmoid(W_l h_{l-1} + c_l);
2. fine-tune the stack plus a linear softmax head on the labelled subset; the scratch network
   is the `pretraining` metric's, trained identically.
It reports acc_dbn and gap_dbn (DBN-pretrained minus scratch, points), named "@<labels>" like the
`pretraining` metric's values, so both arms fill one table. The `pretraining` metric itself is
unchanged: its numbers stay as they were. Entries differing only in labels or fine-tuning share
one pretrained stack (memoised).
"""

from __future__ import annotations

import torch
from torch import nn

from genbench import EvalContext, MetricOutput, MetricResult, MetricSpec, Param, hookimpl
from genbench.plugins.families.rbm import contrastive_loss
from genbench.plugins.models.rbm import RBM
from genbench.plugins.objectives.rbm import ContrastiveDivergence

from .pretraining import (
    accuracy,
    classifier,
    fingerprint,
    finetune,
    labelled,
    labelled_subset,
    minibatch,
    seeded_init,
    with_stack,
)

MOMENTUM, WEIGHT_COST = 0.9, 1e-4
_stack_memo: dict[tuple, list[nn.Linear]] = {}  # the last pretrained stack: entries of one cell share it


def pretrain_rbm_layer(inputs: torch.Tensor, width: int, steps: int, k: int, batch_size: int, lr: float,
                       seed: int) -> nn.Linear:
    """One RBM trained by CD-k on inputs (N, d) in [0, 1]; returns Linear(d, width) holding its
    weights and hidden biases (the layer's up pass)."""
    rbm = seeded_init(seed, lambda: RBM((inputs.shape[1],), width, 0.01)).to(inputs.device)
    rbm.init_visible_bias(2 * inputs - 1)  # the RBM takes data in [-1, 1]
    optimiser = torch.optim.SGD([{"params": [rbm.weight], "weight_decay": WEIGHT_COST},
                                 {"params": [rbm.visible_bias, rbm.hidden_bias]}], lr=lr, momentum=MOMENTUM)
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


def pretrain_dbn(x: torch.Tensor, layers: tuple, steps: int, k: int, batch_size: int, lr: float,
                 seed: int) -> list[nn.Linear]:
    """Greedy layer-wise RBM pretraining: x (N, D) in [0, 1] -> one trained Linear per layer."""
    stack, inputs = [], x
    for index, width in enumerate(layers):
        layer = pretrain_rbm_layer(inputs, width, steps, k, batch_size, lr, seed + index)
        stack.append(layer)
        with torch.no_grad():
            inputs = torch.sigmoid(layer(inputs))  # (N, width): p(h = 1 | v), the next RBM's data
    return stack


class DBNPretraining:
    def __init__(self, layers: tuple, labels_per_class: int, pretrain_steps: int, finetune_steps: int, k: int,
                 rbm_lr: float, batch_size: int, lr: float):
        if not layers or not all(type(w) is int and w > 0 for w in layers):
            raise ValueError(f"layers must list one or more positive integer widths, got {layers}")
        self.layers, self.labels_per_class = tuple(layers), labels_per_class
        self.pretrain_steps, self.finetune_steps, self.k, self.rbm_lr = pretrain_steps, finetune_steps, k, rbm_lr
        self.batch_size, self.lr = batch_size, lr

    def stack(self, x: torch.Tensor, seed: int) -> list[nn.Linear]:
        key = (fingerprint(x), seed, self.layers, self.pretrain_steps, self.k, self.rbm_lr, self.batch_size)
        if key not in _stack_memo:
            _stack_memo.clear()
            _stack_memo[key] = pretrain_dbn(x, self.layers, self.pretrain_steps, self.k, self.batch_size,
                                            self.rbm_lr, seed)
        return _stack_memo[key]

    def __call__(self, ctx: EvalContext) -> MetricResult:
        data = ctx.data
        if data.train_labels is None or data.test is None or data.test_labels is None:
            raise ValueError("metric 'dbn-pretraining' needs a dataset with train and test labels "
                             "(mnist5k, digits, patches32 have them)")
        x_train = ((data.train.flatten(1) + 1) / 2).to(ctx.device)  # (N, D) in [0, 1]
        x_test = ((data.test.flatten(1) + 1) / 2).to(ctx.device)  # (M, D)
        y_train, y_test = data.train_labels.to(ctx.device), data.test_labels.to(ctx.device)
        n_classes = data.info.n_classes or int(y_train.max()) + 1
        chosen = labelled_subset(data.train_labels, self.labels_per_class,
                                 torch.Generator().manual_seed(ctx.seed)).to(ctx.device)

        scratch = seeded_init(ctx.seed, lambda: classifier(x_train.shape[1], self.layers, n_classes)).to(ctx.device)
        pretrained = with_stack(scratch, self.stack(x_train, ctx.seed))
        scores = {}
        for name, net in (("acc_dbn", pretrained), ("scratch", scratch)):
            finetune(net, x_train[chosen], y_train[chosen], self.finetune_steps, self.batch_size, self.lr, ctx.seed)
            scores[name] = accuracy(net, x_test, y_test)
        suffix = f"@{self.labels_per_class or 'all'}"
        provenance = {"n_labelled": len(chosen), "n_unlabelled": len(x_train), "n_test": len(x_test),
                      "split": "test", "layers": list(self.layers), "acc_scratch": scores["scratch"]}
        return MetricResult({f"acc_dbn{suffix}": scores["acc_dbn"],
                             f"gap_dbn{suffix}": scores["acc_dbn"] - scores["scratch"]}, provenance)


def make_dbn_pretraining(**params) -> DBNPretraining:
    return DBNPretraining(**params)


@hookimpl
def register_metrics(register):
    register(MetricSpec(
        "dbn-pretraining", "test accuracy with greedy stacked-RBM (DBN) pretraining vs none, few labels",
        make_dbn_pretraining,
        {"layers": Param((500, 500), "hidden widths of the stack (sigmoid units), input side first"),
         "labels_per_class": Param(10, "labelled training images per class for fine-tuning (0 = all)", min=0),
         "pretrain_steps": Param(2000, "CD-k steps per pretrained layer", min=0),
         "finetune_steps": Param(1000, "Adam steps of supervised training (both networks)", min=0),
         "k": Param(1, "Gibbs steps of the RBMs' contrastive divergence", min=1, max=1000),
         "rbm_lr": Param(0.05, "SGD learning rate of the RBMs (momentum 0.9)", min=0.0, max=1.0),
         "batch_size": Param(64, "minibatch size of both phases", min=1),
         "lr": Param(1e-3, "Adam learning rate of fine-tuning", min=0.0)},
        outputs={"acc_dbn": MetricOutput(True, "test accuracy, DBN-pretrained then fine-tuned", "%"),
                 "gap_dbn": MetricOutput(True, "DBN-pretrained minus scratch accuracy", "points")},
        families=("autoencoder", "rbm"), domains=("image",), needs=("real", "labels"), fits=labelled,
        repeatable=True))  # values are named <output>@<labels_per_class>
