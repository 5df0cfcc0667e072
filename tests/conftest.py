"""Shared fixtures. Tests marked `data` need the real datasets (`make data` / `lenet data fetch all`);
tests marked `slow` train for real. CI runs all of them: `make test`."""

from __future__ import annotations

import numpy as np
import pytest

from lenet_repro.datasets import DatasetSpec, IdxFile, sha256_file
from lenet_repro.idx import MAGIC_IMAGES, MAGIC_LABELS, write_idx


def make_synthetic(folder, n_train=20, n_test=10, seed=0):
    """Write four small IDX files into `folder`; return a DatasetSpec that describes them."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, arr in arrays.items():
        write_idx(folder / name, arr)
    files = {n: IdxFile(n, MAGIC_IMAGES if "images" in n else MAGIC_LABELS, len(a), sha256_file(folder / n))
             for n, a in arrays.items()}
    spec = DatasetSpec(
        name="synthetic", folder="Synthetic",
        train_images=files["train-images-idx3-ubyte"], train_labels=files["train-labels-idx1-ubyte"],
        test_images=files["t10k-images-idx3-ubyte"], test_labels=files["t10k-labels-idx1-ubyte"],
        train_label_counts=tuple(np.bincount(arrays["train-labels-idx1-ubyte"], minlength=10)),
        test_label_counts=tuple(np.bincount(arrays["t10k-labels-idx1-ubyte"], minlength=10)),
        classes=tuple(str(i) for i in range(10)))
    return spec, arrays


@pytest.fixture
def synthetic(tmp_path):
    folder = tmp_path / "Synthetic" / "raw"
    spec, arrays = make_synthetic(folder)
    return spec, arrays, folder, tmp_path


@pytest.fixture(scope="session")
def mnist_small():
    """The first 2,000 real MNIST training patterns as network inputs (needs the data)."""
    from lenet1998.data import load_mnist

    d = load_mnist(train_subset=2000, test_subset=10)
    return d.inputs("train", "paper"), d.train_labels


@pytest.fixture(scope="module")
def float64_default():
    """Run a module's oracle comparisons in float64 (restored afterwards)."""
    import torch

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def pytest_sessionstart(session):
    """`make test` (and so CI) sets LENET_REQUIRE_FAST=1: the C kernel's tests must not be skipped
    because it failed to build or load."""
    import os

    if os.environ.get("LENET_REQUIRE_FAST") == "1":
        from lenet1998.fast.binding import load_kernel

        load_kernel()  # raises BuildError: the whole run fails
