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
    holdout: int = 0  # > 0: the "test" split is the last `holdout` training patterns, not the test set
    _cache: dict | None = None

    def inputs(self, split: str, scaling: str) -> torch.Tensor:
        """Padded and scaled network inputs, computed once per (split, scaling)."""
        if self._cache is None:
            self._cache = {}
        key = (split, scaling)
        if key not in self._cache:
            self._cache[key] = to_input(getattr(self, f"{split}_images"), scaling)
        return self._cache[key]


def load_mnist(root=None, train_subset: int | None = None, test_subset: int | None = None,
               holdout: int | None = None) -> MnistSplits:
    """MNIST splits; with `holdout`, the last `holdout` training patterns replace the test set
    (for choosing settings without looking at the test digits)."""
    from lenet_repro.errors import ConfigError

    n_train, n_test = datasets.get_spec("mnist").train_images.count, datasets.get_spec("mnist").test_images.count
    datasets.check_subset("--train-subset", train_subset, n_train, f"the MNIST training split has {n_train:,} images")
    datasets.check_subset("--test-subset", test_subset, n_test, f"the MNIST test split has {n_test:,} images")
    xtr, ytr = datasets.load("mnist", "train", root)
    if train_subset:
        xtr, ytr = xtr[:train_subset], ytr[:train_subset]
    if holdout:
        if not 0 < holdout < len(ytr):
            raise ConfigError(f"--holdout must be between 1 and {len(ytr) - 1}, got {holdout}")
        xte, yte = xtr[-holdout:], ytr[-holdout:]
        xtr, ytr = xtr[:-holdout], ytr[:-holdout]
    else:
        xte, yte = datasets.load("mnist", "test", root)
        if test_subset:
            xte, yte = xte[:test_subset], yte[:test_subset]
    return MnistSplits(xtr, ytr, xte, yte, holdout=holdout or 0)
