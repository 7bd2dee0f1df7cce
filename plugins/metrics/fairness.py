"""fairness: how much a representation tells about the task y and about the sensitive s
(Louizos et al. 2016, section 3.3; Zemel et al. 2013's discrimination).

On the dataset's training split the metric computes a representation of every example, fits two
scikit-learn logistic regressions on it (standardised), one predicting y and one predicting s,
and scores them on the test split:

- acc_y: accuracy predicting y (a useful representation keeps it high);
- acc_s: accuracy predicting s (a fair one brings it down to s_majority, the share of the test
  split's more frequent s: the best a constant guess does; y_majority likewise for y);
- parity: the demographic-parity gap |P(y_hat = 1 | s = 0) - P(y_hat = 1 | s = 1)| of the y
  classifier's test predictions (0 = the decision ignores s).

y is the dataset's binary decision (sensitive.py): the label for two classes, else label >= K/2
(digits: y = 1 for 5..9). `features` says what is represented: "learned" is the cell's model,
the mean of q(z1 | x, s) for a VFAE and the code (a VAE's mean code) for an autoencoder;
"input" is the raw input x flattened, the baseline (s itself is never a feature; the tint of
tinted images shows it). Entries with features = "input" name their values `<name>@input`, so
a suite lists both and the table shows the model beside the raw input.
"""

from __future__ import annotations

import numpy as np
import torch

from genbench import DataInfo, EvalContext, MetricOutput, MetricResult, MetricSpec, Param, hookimpl
from genbench.plugins.datasets.sensitive import SENSITIVE, TEST_SENSITIVE, binary_task, missing_sensitive
from genbench.plugins.families.common import SAMPLE_CHUNK
from genbench.plugins.models.autoencoders import AEModel
from genbench.plugins.models.vfae import VFAEModel

FEATURES = ("learned", "input")


def representation(model, x: torch.Tensor, s: torch.Tensor, device: torch.device) -> np.ndarray:
    """The model's representation (N, Z) of x (N, *shape) with s (N,), in eval mode without grad."""
    if isinstance(model, VFAEModel):
        encode = model.represent
    elif isinstance(model, AEModel):
        def encode(chunk, _):
            code = model.encode(chunk)
            return code[0] if model.variational else code
    else:
        raise ValueError(f"the fairness metric cannot read a representation from a {type(model).__name__}; "
                         'use features = "input", or a vfae or autoencoder model')
    was_training = model.training
    model.eval()
    with torch.no_grad():
        parts = [encode(xc.to(device), sc.to(device)).cpu()
                 for xc, sc in zip(x.split(SAMPLE_CHUNK), s.split(SAMPLE_CHUNK), strict=True)]
    model.train(was_training)
    return torch.cat(parts).double().numpy()


def fit_predict(train: np.ndarray, target: np.ndarray, test: np.ndarray, c: float, seed: int) -> np.ndarray:
    """A standardised logistic regression fitted on (train, target), its predictions on test."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    classifier = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000, random_state=seed))
    return classifier.fit(train, target).predict(test)


def majority_rate(values: np.ndarray) -> float:
    """The share of the most frequent of the binary values (N,): a constant guess's best accuracy."""
    share = float(np.mean(values == 1))
    return max(share, 1 - share)


def fairness_scores(train: np.ndarray, test: np.ndarray, y_train: np.ndarray, y_test: np.ndarray,
                    s_train: np.ndarray, s_test: np.ndarray, c: float = 1.0, seed: int = 0) -> dict[str, float]:
    """acc_y, acc_s, parity, y_majority, s_majority of representations train (N, Z), test (M, Z)."""
    y_hat = fit_predict(train, y_train, test, c, seed)  # (M,)
    s_hat = fit_predict(train, s_train, test, c, seed)  # (M,)
    rates = [y_hat[s_test == g].mean() if (s_test == g).any() else np.nan for g in (0, 1)]
    return {"acc_y": float(np.mean(y_hat == y_test)), "acc_s": float(np.mean(s_hat == s_test)),
            "parity": float(abs(rates[0] - rates[1])),
            "y_majority": majority_rate(y_test), "s_majority": majority_rate(s_test)}


class Fairness:
    def __init__(self, features: str, c: float):
        self.features, self.c = features, c

    def features_of(self, ctx: EvalContext, x: torch.Tensor, s: torch.Tensor) -> np.ndarray:
        if self.features == "input":
            return x.flatten(1).double().cpu().numpy()
        return representation(ctx.model, x, s, ctx.device)

    def __call__(self, ctx: EvalContext) -> MetricResult:
        data = ctx.data
        problem = missing_sensitive(data.info)
        if problem or data.test is None or data.train_labels is None or data.test_labels is None:
            raise ValueError(f"metric 'fairness' needs train and test labels and a sensitive attribute: "
                             f"{problem or 'this dataset lacks a labelled test split'}")
        s_train, s_test = data.extras[SENSITIVE], data.extras[TEST_SENSITIVE]
        k = data.info.n_classes
        scores = fairness_scores(
            self.features_of(ctx, data.train, s_train), self.features_of(ctx, data.test, s_test),
            binary_task(data.train_labels, k).numpy(), binary_task(data.test_labels, k).numpy(),
            s_train.numpy(), s_test.numpy(), self.c, ctx.seed)
        suffix = "@input" if self.features == "input" else ""
        provenance = {"features": self.features, "n_train": len(data.train), "n_test": len(data.test),
                      "split": "fit on train, scored on test", "task": "label" if k <= 2 else f"label >= {-(-k // 2)}",
                      "classifier": f"sklearn StandardScaler + LogisticRegression(C={self.c}, lbfgs)"}
        return MetricResult({name + suffix: value for name, value in scores.items()}, provenance)


def make_fairness(*, features: str, c: float) -> Fairness:
    return Fairness(features, c)


def fairness_fits(info: DataInfo, **params) -> str | None:
    return missing_sensitive(info)


@hookimpl
def register_metrics(register):
    register(MetricSpec(
        "fairness", "logistic regressions on a representation: accuracy for y and s, demographic-parity gap",
        make_fairness,
        {"features": Param("learned", "the model's representation (z1, or the code), or the raw input x "
                           "(values named <name>@input)", choices=FEATURES),
         "c": Param(1.0, "inverse L2 strength of the logistic regressions", min=1e-6)},
        outputs={"acc_y": MetricOutput(True, "test accuracy predicting y from the representation", "%"),
                 "acc_s": MetricOutput(False, "test accuracy predicting s (fair: s_majority)", "%"),
                 "parity": MetricOutput(False, "|P(y_hat=1|s=0) - P(y_hat=1|s=1)|"),
                 "y_majority": MetricOutput(True, "accuracy of the majority y", "%"),
                 "s_majority": MetricOutput(False, "accuracy of the majority s", "%")},
        needs=("real", "labels", "code"), fits=fairness_fits,
        repeatable=True))
