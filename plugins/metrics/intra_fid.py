"""intra-fid: intra-class FID (Miyato & Koyama 2018), for class-conditional GANs.

The mean over classes c of the FID between the real images of class c and the model's samples of
class c. A generator can score a good FID with samples of the wrong classes, or by collapsing
inside each class; intra-FID sees both. It is fid.py's FID, class by class: the same extractors,
features in float64 as torchmetrics' FID takes them, the same moments and Fréchet distance.

Real images of class c are the first n_real of that class in the split (classes with fewer than
two are skipped, and named in the provenance); the model draws n_fake samples of each class
through ctx.sample_class, on the fixed eval noise (the same z for every class). The per-class
values go to the provenance (`per_class`), beside `intra_fid_floor`: the same mean over classes
with the other split's images of each class (n_fake, or all of them) in place of samples, the
score of a generator that reproduced every class exactly; it is computed once per (data,
extractor, counts) per process, like the reference's statistics.

Refused before any work on a dataset without labels (`fits`). A model that is not
class-conditional scores NaN with the reason in the provenance, so one suite can compare
conditional and unconditional models on FID and list intra-fid for the conditional ones.
"""

from __future__ import annotations

import logging

import torch

from genbench import Data, DataInfo, MetricOutput, MetricResult, MetricSpec, Param, hookimpl

from .extractors import Extractor, fingerprint
from .fid import conditioning_warning, frechet_distance, moments
from .inputs import (
    EXTRACTOR_PARAMS, SPLIT_PARAM, ExtractorMetric, Unavailable, class_samples, extract, extractor_fits,
    extractor_for, memo, nan_result, other_split, real_images,
)

log = logging.getLogger(__name__)

OUTPUTS = {
    "intra_fid": MetricOutput(False, "intra-class FID"),
    "intra_fid_floor": MetricOutput(False, "intra-FID floor (real vs real)"),
}
PARAMS = {
    "n_fake": Param(1000, "generated samples per class", min=2),
    "n_real": Param(1000, "real images per class: the first n of the class in the split (all if fewer)", min=2),
    **SPLIT_PARAM,
    **EXTRACTOR_PARAMS,
}

Moments = tuple[torch.Tensor, torch.Tensor]  # mean (d,), covariance (d, d), float64


def feature_moments(features: torch.Tensor) -> Moments:
    """Features (n, d) -> their mean and unbiased covariance, in float64 (fid.moments of the sums
    torchmetrics' FID accumulates)."""
    features = features.double()
    return moments(features.sum(0), features.T @ features, len(features))


def images_by_class(data: Data, split: str, n: int) -> dict[int, torch.Tensor]:
    """class c -> the first n (at most) images of class c in the split, (n_c, C, H, W), for every
    class with at least two; Unavailable if the split or its labels are missing."""
    images = real_images(data, split, len(data.test if split == "test" else data.train))
    labels = data.test_labels if split == "test" else data.train_labels
    if labels is None:
        raise Unavailable(f"the dataset's {split} split has no labels; fix: split='{other_split(split)}'")
    by_class = {c: images[labels == c][:n] for c in range(data.info.n_classes or int(labels.max()) + 1)}
    return {c: x for c, x in by_class.items() if len(x) >= 2}


def class_moments(data: Data, split: str, n: int, extractor: Extractor,
                  device: torch.device) -> tuple[tuple, dict[int, Moments], dict[int, int]]:
    """(memo key, class c -> the moments of the features of images_by_class(data, split, n)[c],
    class c -> its image count), memoised."""
    images, labels = (data.test, data.test_labels) if split == "test" else (data.train, data.train_labels)
    key = ("intra_fid", split, n, fingerprint(images, labels), extractor.provenance["extractor_hash"])

    def compute():
        by_class = images_by_class(data, split, n)
        stats = {c: feature_moments(extract(extractor, x, device)) for c, x in by_class.items()}
        return stats, {c: len(x) for c, x in by_class.items()}

    return key, *memo.get(key, compute)


class IntraFID(ExtractorMetric):
    def __call__(self, ctx) -> MetricResult:
        p = self.params
        provenance = {"split": p["split"], "n_fake": p["n_fake"]}
        try:
            if ctx.sample_class is None:  # checked first: an unconditional cell costs no features
                raise Unavailable("the model is not class-conditional (it cannot sample a given class); "
                                  "intra-FID scores class-conditional models such as cmlp")
            extractor = extractor_for(ctx, p)
            provenance.update(extractor.provenance)
            key, reference, counts = class_moments(ctx.data, p["split"], p["n_real"], extractor, ctx.device)
            per_class = {}
            for c, real in reference.items():
                fake = class_samples(ctx, torch.full((p["n_fake"],), c, dtype=torch.long))  # (n_fake, C, H, W)
                per_class[c] = frechet_distance(*real, *feature_moments(extract(extractor, fake, ctx.device)))
        except Unavailable as exc:
            return nan_result(OUTPUTS, provenance, str(exc))
        provenance.update({"n_real_per_class": {str(c): n for c, n in counts.items()},
                           "per_class": {str(c): v for c, v in per_class.items()},
                           "skipped_classes": sorted(set(range(ctx.data.info.n_classes or 0)) - set(per_class))})
        floor, floor_provenance = self.floor(ctx, extractor, key, reference)
        provenance.update(floor_provenance)
        warning = conditioning_warning({"smallest class n_real": min(counts.values()), "n_fake": p["n_fake"]},
                                       extractor.num_features)
        if warning:
            log.warning("intra-fid: %s", warning)
            provenance["warning"] = warning
        intra = sum(per_class.values()) / len(per_class)
        return MetricResult({"intra_fid": intra, "intra_fid_floor": floor}, provenance)

    def floor(self, ctx, extractor: Extractor, key: tuple, reference: dict[int, Moments]) -> tuple[float, dict]:
        """The mean over classes of the FID of the other split's class images (n_fake of each)
        against the reference: (value, provenance with the per-class floors), memoised."""
        split = other_split(self.params["split"])
        try:
            other_key, other, _ = class_moments(ctx.data, split, self.params["n_fake"], extractor, ctx.device)
        except Unavailable as exc:
            return float("nan"), {"floor_split": split, "floor_reason": str(exc)}
        per_class = memo.get(("intra_fid_floor", key, other_key), lambda: {
            c: frechet_distance(*real, *other[c]) for c, real in reference.items() if c in other})
        if not per_class:
            return float("nan"), {"floor_split": split, "floor_reason": f"no class has two images in {split}"}
        return sum(per_class.values()) / len(per_class), {
            "floor_split": split, "floor_per_class": {str(c): v for c, v in per_class.items()}}


def intra_fid_fits(info: DataInfo, **params) -> str | None:
    """A labelled dataset (classes to score), then what every extractor metric needs."""
    if info.n_classes is None:
        return ("the dataset has no class labels, and intra-class FID compares each class's samples with "
                "that class's images; use a labelled dataset, or fid")
    return extractor_fits(info, **params)


@hookimpl
def register_metrics(register):
    register(MetricSpec("intra-fid", "intra-class FID (Miyato & Koyama 2018): mean over classes of the FID "
                        "between a class's samples and its real images", IntraFID, PARAMS, outputs=OUTPUTS,
                        domains=("image",), needs=("classes", "real", "labels"),
                        fits=intra_fid_fits))
