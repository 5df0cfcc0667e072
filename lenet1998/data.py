"""MNIST as network inputs for the 1998 model: (N, 1, 32, 32) float32 tensors (Sec. III-A)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lenet_repro import datasets

from .preprocessing import to_input


@dataclass
class MnistSplits:
    train_images: torch.Tensor  # uint8 (N, 28, 28), kept for distortions
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    _cache: dict | None = None

    def inputs(self, split: str, scaling: str) -> torch.Tensor:
        """Padded and scaled network inputs, computed once per (split, scaling)."""
        if self._cache is None:
            self._cache = {}
        key = (split, scaling)
        if key not in self._cache:
            self._cache[key] = to_input(getattr(self, f"{split}_images"), scaling)
        return self._cache[key]


def load_mnist(root=None, train_subset: int | None = None, test_subset: int | None = None) -> MnistSplits:
    xtr, ytr = datasets.load("mnist", "train", root)
    xte, yte = datasets.load("mnist", "test", root)
    if train_subset:
        xtr, ytr = xtr[:train_subset], ytr[:train_subset]
    if test_subset:
        xte, yte = xte[:test_subset], yte[:test_subset]
    return MnistSplits(xtr, ytr, xte, yte)
