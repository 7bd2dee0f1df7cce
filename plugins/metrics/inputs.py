"""What the image metrics (fid.py, intra_fid.py, inception_score.py, prdc.py, parzen.py) score, and how.

Real images are the first n of a split of ctx.data (the same images at every eval step). Model
samples come from ctx.sample(n); the runner draws each n once per eval step and shares it with
that step's metrics and sample picture (genbench.run.runner.share_samples). A class-conditional
model also samples given classes, ctx.sample_class(labels) (intra-FID). What depends only on the
real data (features, torchmetrics states holding real statistics, the real-vs-real floor) is
memoised in this process. A metric that cannot be computed raises `Unavailable`; the plugin turns
it into NaN values with the reason in the provenance, so the cell and the other metrics go on.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable

import torch

from genbench import Data, DataError, DataInfo, EvalContext, MetricResult, Param

from .classifiers import auto_architecture, classifier_problem
from .extractors import DINOV2, EXTRACTORS, INCEPTION, Extractor, Unavailable, fingerprint, get_extractor, weights_file

SPLITS = ("test", "train")
CHUNK = 1000  # images per extractor call: bounds activation memory

EXTRACTOR_PARAMS = {
    "extractor": Param("auto", "feature extractor: a domain classifier trained on the dataset (auto picks "
                       "lenet up to 28x28, else cnn), or inception or dinov2 from a local weights file",
                       choices=EXTRACTORS),
    "extractor_seed": Param(0, "seed of the domain classifier's training (fixed across cells, so scores compare)"),
    "inception_path": Param("", "FID Inception-v3 weights file for extractor='inception' "
                            "(empty: $GENBENCH_CACHE/inception/); never downloaded"),
    "dinov2_path": Param("", "DINOv2 weights file for extractor='dinov2' (empty: "
                         "$GENBENCH_CACHE/dinov2/dinov2_vitl14_pretrain.pth); never downloaded", id_if_default=False),
}
SPLIT_PARAM = {"split": Param("test", "real split the samples are compared with", choices=SPLITS)}


class Memo:
    """A small least-recently-used cache: get(key, compute) computes each key once."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict = OrderedDict()

    def get(self, key, compute: Callable):
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = compute()
        self.items[key] = value
        while len(self.items) > self.size:
            self.items.popitem(last=False)
        return value


memo = Memo(16)  # real-data results, keyed by fingerprints of the images and the extractor's hash


def check_extractor_params(extractor: str, inception_path: str, dinov2_path: str = "") -> None:
    """At factory time, before any training: a missing Inception or DINOv2 weights file is an error now."""
    if extractor == "inception":
        weights_file(INCEPTION, inception_path)
    if extractor == "dinov2":
        weights_file(DINOV2, dinov2_path)


def extractor_fits(info: DataInfo, *, extractor: str, inception_path: str, dinov2_path: str = "",
                   **params) -> str | None:
    """MetricSpec.fits of the extractor metrics, checked with the suite before any work: a domain
    classifier needs a labelled dataset; Inception and DINOv2 need their local weights files."""
    if extractor in ("inception", "dinov2"):
        try:
            check_extractor_params(extractor, inception_path, dinov2_path)
        except DataError as exc:
            return str(exc)
        return None
    if info.n_classes is None:
        return ("the dataset has no labels, so no domain classifier can be trained for its features; "
                "use a labelled dataset, or extractor = \"inception\" with a local weights file")
    return classifier_problem(auto_architecture(info.shape) if extractor == "auto" else extractor, info.shape)


class ExtractorMetric:
    """Base of the metrics scored on extractor features: the extractor parameters are checked at
    factory time, before any training (a missing Inception weights file is an error then)."""

    def __init__(self, **params):
        check_extractor_params(params["extractor"], params["inception_path"], params.get("dinov2_path", ""))
        self.params = params


def extractor_for(ctx: EvalContext, params: dict) -> Extractor:
    """The extractor the metric's parameters name, for ctx.data, on ctx.device."""
    extractor = get_extractor(ctx.data, params["extractor"], params["extractor_seed"], params["inception_path"],
                              params.get("dinov2_path", ""))
    return extractor.to(ctx.device)


def samples(ctx: EvalContext, n: int) -> torch.Tensor:
    """(n, C, H, W) model samples; Unavailable if there are none or any is NaN or inf."""
    if ctx.sample is None:
        raise Unavailable("the model gives no samples at this eval point")
    return finite(ctx.sample(n))


def class_samples(ctx: EvalContext, labels: torch.Tensor) -> torch.Tensor:
    """(n, C, H, W) model samples, sample i of class labels[i] (n,); Unavailable if the model is
    not class-conditional or any sample is NaN or inf."""
    if ctx.sample_class is None:
        raise Unavailable("the model is not class-conditional (its eval context has no sample_class)")
    return finite(ctx.sample_class(labels))


def finite(images: torch.Tensor) -> torch.Tensor:
    """images (n, ...) unchanged; Unavailable if any of them contains NaN or inf."""
    bad = int((~torch.isfinite(images.flatten(1)).all(dim=1)).sum())
    if bad:
        raise Unavailable(f"{bad} of {len(images)} generated samples contain NaN or inf")
    return images


def real_images(data: Data, split: str, n: int) -> torch.Tensor:
    """The first n (at most) images of the split: (n', C, H, W)."""
    images = data.test if split == "test" else data.train
    if images is None or len(images) == 0:
        raise Unavailable(f"the dataset has no {split} split; fix: split='{other_split(split)}'")
    return images[:n]


def other_split(split: str) -> str:
    return "train" if split == "test" else "test"


@torch.no_grad()
def extract(module: Callable, images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """module applied to images (N, C, H, W) in chunks of CHUNK -> (N, ...) on the CPU."""
    return torch.cat([module(chunk.to(device)).cpu() for chunk in images.split(CHUNK)])


def real_key(images: torch.Tensor, extractor: Extractor) -> tuple[str, str]:
    return fingerprint(images), extractor.provenance["extractor_hash"]


def nan_result(outputs, provenance: dict, reason: str) -> MetricResult:
    """Every output NaN, with the reason in the provenance."""
    return MetricResult({name: math.nan for name in outputs}, {**provenance, "reason": reason})
