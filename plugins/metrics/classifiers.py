"""Small domain classifiers whose penultimate layer is the feature space of FID, KID and PRDC.

They stand in for Inception-v3, whose weights would have to be downloaded: LeNet-5 style for
small images (28x28 digits, 8x8 digits), a small CNN for 32x32 patches. Training is short and
deterministic: a fixed recipe (RECIPE), one seed for initialisation and minibatch order, and the
caller's random state left untouched.
"""

from __future__ import annotations

import math

import torch
from torch import nn

ARCHITECTURES = ("lenet", "cnn")
MIN_SIDE = {"lenet": 4, "cnn": 8}  # the smallest image side the architecture's pooling takes
RECIPE = {"min_steps": 600, "epochs": 3, "batch_size": 64, "lr": 1e-3, "optimizer": "adam"}


class DomainClassifier(nn.Module):
    """A body mapping images to features (B, num_features), and a linear head to class logits."""

    def __init__(self, body: nn.Sequential, num_features: int, n_classes: int):
        super().__init__()
        self.body = body
        self.head = nn.Linear(num_features, n_classes)
        self.num_features = num_features

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)  # (B, C, H, W) -> (B, num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))  # (B, n_classes) logits


class LeNet(DomainClassifier):
    """Two conv + pool blocks and a 120-84 MLP (LeNet-5 with padded convs, so 8x8 inputs fit too)."""

    def __init__(self, channels: int, height: int, width: int, n_classes: int):
        super().__init__(nn.Sequential(
            nn.Conv2d(channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # (B, 6, H/2, W/2)
            nn.Conv2d(6, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # (B, 16, H/4, W/4)
            nn.Flatten(),
            nn.Linear(16 * (height // 4) * (width // 4), 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),  # (B, 84): the features
        ), 84, n_classes)


class SmallCNN(DomainClassifier):
    """Three conv + pool blocks (16, 32, 64 channels) and a 128-unit layer."""

    def __init__(self, channels: int, height: int, width: int, n_classes: int):
        super().__init__(nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 16, H/2, W/2)
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, H/4, W/4)
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 64, H/8, W/8)
            nn.Flatten(),
            nn.Linear(64 * (height // 8) * (width // 8), 128), nn.ReLU(),  # (B, 128): the features
        ), 128, n_classes)


def auto_architecture(shape: tuple[int, ...]) -> str:
    """LeNet for images up to 28x28 (digits), the small CNN for larger ones (32x32 patches)."""
    return "lenet" if max(shape[1:]) <= 28 else "cnn"


def classifier_problem(arch: str, shape: tuple[int, ...]) -> str | None:
    """Why a classifier of this architecture cannot take examples of `shape`, or None."""
    if len(shape) != 3:
        return f"the {arch!r} classifier takes (C, H, W) images, not examples of shape {shape}"
    if min(shape[1:]) < MIN_SIDE[arch]:
        return (f"images of {shape[1]}x{shape[2]} are too small for the {arch!r} classifier "
                f"(it takes {MIN_SIDE[arch]}x{MIN_SIDE[arch]} and larger)")
    return None


def build_classifier(arch: str, shape: tuple[int, ...], n_classes: int) -> nn.Module:
    problem = classifier_problem(arch, shape) if arch in MIN_SIDE else None
    if problem:
        raise ValueError(problem)
    channels, height, width = shape
    classes = {"lenet": LeNet, "cnn": SmallCNN}
    if arch not in classes:
        raise ValueError(f"unknown classifier architecture {arch!r}; one of {', '.join(ARCHITECTURES)}")
    return classes[arch](channels, height, width, n_classes)


def train_classifier(arch: str, images: torch.Tensor, labels: torch.Tensor, n_classes: int,
                     seed: int) -> nn.Module:
    """images (N, C, H, W), labels (N,) int64 -> a trained classifier in eval mode, on the CPU.

    Adam on cross-entropy for max(min_steps, epochs * batches per epoch) minibatch steps, on one
    thread: the weights are then bit-identical whatever the caller's thread count (they are not
    across thread counts), and on shared cores one thread is also the faster.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):  # initialisation must not consume the caller's stream
            torch.manual_seed(seed)
            model = build_classifier(arch, tuple(images.shape[1:]), n_classes)
        order_rng = torch.Generator().manual_seed(seed)
        batch = RECIPE["batch_size"]
        per_epoch = math.ceil(len(images) / batch)
        steps = max(RECIPE["min_steps"], RECIPE["epochs"] * per_epoch)
        optimizer = torch.optim.Adam(model.parameters(), lr=RECIPE["lr"])
        model.train()
        order = torch.empty(0, dtype=torch.long)
        for step in range(steps):
            if step % per_epoch == 0:
                order = torch.randperm(len(images), generator=order_rng)
            index = order[(step % per_epoch) * batch:(step % per_epoch + 1) * batch]
            loss = nn.functional.cross_entropy(model(images[index]), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return model.eval().requires_grad_(False)


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, chunk: int = 2048) -> float:
    """Fraction of images (N, C, H, W) whose arg-max logit is the label (N,)."""
    correct = 0
    for x, y in zip(images.split(chunk), labels.split(chunk), strict=True):
        correct += int((model(x).argmax(1) == y).sum())
    return correct / len(images)
