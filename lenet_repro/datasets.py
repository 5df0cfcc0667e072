"""The two datasets: their pinned contents, verification, and loading as in-memory tensors.

Files live in torchvision's layout, `<root>/MNIST/raw/` and `<root>/FashionMNIST/raw/`, as the
four uncompressed IDX files, so `torchvision.datasets.MNIST(root, download=False)` reads them too.
`<root>` is `--data-root`, else `$LENET_DATA_ROOT`, else `$XDG_CACHE_HOME/lenet-repro/data`
(`~/.cache/lenet-repro/data`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import ConfigError, DataError, PathError
from .idx import MAGIC_IMAGES, MAGIC_LABELS, read_idx

DATA_ROOT_ENV = "LENET_DATA_ROOT"


def default_data_root() -> Path:
    env = os.environ.get(DATA_ROOT_ENV)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "lenet-repro" / "data"


def resolve_data_root(root: str | os.PathLike | None) -> Path:
    return Path(root).expanduser() if root else default_data_root()


@dataclass(frozen=True)
class IdxFile:
    filename: str  # uncompressed name, as torchvision expects it in raw/
    magic: int
    count: int
    sha256: str  # of the uncompressed file, pinned from a verified copy


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # CLI name
    folder: str  # torchvision class name = folder under the root
    train_images: IdxFile
    train_labels: IdxFile
    test_images: IdxFile
    test_labels: IdxFile
    train_label_counts: tuple[int, ...]
    test_label_counts: tuple[int, ...]
    classes: tuple[str, ...]

    @property
    def files(self) -> tuple[IdxFile, ...]:
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)

    def raw_dir(self, root: str | os.PathLike | None = None) -> Path:
        return resolve_data_root(root) / self.folder / "raw"


def _files(n_train: int, n_test: int, sha: dict[str, str]) -> dict[str, IdxFile]:
    return {
        "train_images": IdxFile("train-images-idx3-ubyte", MAGIC_IMAGES, n_train, sha["train_images"]),
        "train_labels": IdxFile("train-labels-idx1-ubyte", MAGIC_LABELS, n_train, sha["train_labels"]),
        "test_images": IdxFile("t10k-images-idx3-ubyte", MAGIC_IMAGES, n_test, sha["test_images"]),
        "test_labels": IdxFile("t10k-labels-idx1-ubyte", MAGIC_LABELS, n_test, sha["test_labels"]),
    }


# MNIST: the converted files have the md5s public code lists for the official files
# (train-images 6bbc9ace..., train-labels a25bea73..., t10k-images 2646ac64..., t10k-labels 27ae3e4e...).
MNIST = DatasetSpec(
    name="mnist",
    folder="MNIST",
    **_files(60000, 10000, {
        "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    }),
    train_label_counts=(5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    test_label_counts=(980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
    classes=tuple(str(d) for d in range(10)),
)

# Fashion-MNIST: sha256 of the uncompressed files of the Debian package (the same contents as
# zalandoresearch's originals; only the .gz wrappers were recompressed).
FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    folder="FashionMNIST",
    **_files(60000, 10000, {
        "train_images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train_labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "test_images": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "test_labels": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    }),
    train_label_counts=(6000,) * 10,
    test_label_counts=(1000,) * 10,
    classes=("t-shirt", "trouser", "pullover", "dress", "coat",
             "sandal", "shirt", "sneaker", "bag", "ankle boot"),
)

DATASETS: dict[str, DatasetSpec] = {s.name: s for s in (MNIST, FASHION_MNIST)}


def get_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise ConfigError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}") from None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_file(spec: DatasetSpec, f: IdxFile, folder: Path, check_hash: bool = True) -> np.ndarray:
    """Check one IDX file's magic, shape, count, label histogram and sha256; return its array."""
    path = folder / f.filename
    fix = f"delete it and run `lenet data fetch {spec.name} --force`"
    arr = read_idx(path, f.magic, fix)
    if f.magic == MAGIC_IMAGES and arr.shape != (f.count, 28, 28):
        raise DataError(f"{path}: wrong shape {tuple(arr.shape)}, expected ({f.count}, 28, 28); {fix}")
    if f.magic == MAGIC_LABELS:
        if arr.shape != (f.count,):
            raise DataError(f"{path}: wrong shape {tuple(arr.shape)}, expected ({f.count},); {fix}")
        want = spec.train_label_counts if f == spec.train_labels else spec.test_label_counts
        got = tuple(np.bincount(arr, minlength=10).tolist())
        if got != tuple(want):
            raise DataError(f"{path}: label histogram {got} differs from the expected {tuple(want)}; {fix}")
    if check_hash:
        digest = sha256_file(path)
        if digest != f.sha256:
            raise DataError(f"{path}: sha256 {digest[:16]}... differs from the pinned {f.sha256[:16]}...; {fix}")
    return arr


def verify(spec: DatasetSpec, folder: Path, check_hash: bool = True) -> None:
    for f in spec.files:
        verify_file(spec, f, folder, check_hash)


def is_present(spec: DatasetSpec, folder: Path) -> bool:
    try:
        return all((folder / f.filename).exists() for f in spec.files)
    except OSError:  # e.g. no permission to look into the folder: read_idx then names the problem
        return True


def check_folder(folder: Path) -> None:
    """PathError if the data folder cannot exist because a file sits where it or a parent should be."""
    p = Path(folder)
    while not p.exists() and p.parent != p:
        p = p.parent
    if p.exists() and not p.is_dir():
        raise PathError(f"{p}: is a file, not a folder, so it cannot hold the data ({folder}); point --data-root "
                        f"(or ${DATA_ROOT_ENV}) at a folder, or move the file away")


def check_subset(flag: str, value: int | None, size: int, what: str) -> None:
    """`--train-subset` / `--test-subset` / `--holdout` must be None (all) or 1..size; ConfigError otherwise."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= size:
        raise ConfigError(f"{flag} must be an integer from 1 to {size:,} ({what}), got {value!r}; "
                          f"choose one in that range or omit {flag}")


def check_split(name: str, train_subset: int | None = None, test_subset: int | None = None,
                holdout: int | None = None) -> None:
    """Validate the split options of a run on dataset `name` against its pinned sizes.

    `holdout` takes the last N of the (subset of the) training patterns as the evaluation split, so it
    must leave at least one training pattern, and `--test-subset` would have no effect beside it."""
    spec = get_spec(name)
    n_train, n_test = spec.train_images.count, spec.test_images.count
    check_subset("--train-subset", train_subset, n_train, f"the {spec.name} training split has {n_train:,} images")
    check_subset("--test-subset", test_subset, n_test, f"the {spec.name} test split has {n_test:,} images")
    if holdout is not None:
        n = train_subset or n_train
        check_subset("--holdout", holdout, n - 1, f"it must leave at least one of the {n:,} training images")
        if test_subset is not None:
            raise ConfigError("--test-subset has no effect with --holdout (the held-out training patterns replace "
                              "the test set); drop one of them")


def load(name: str, split: str, root: str | os.PathLike | None = None,
         check_hash: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Return `(images, labels)` as in-memory tensors: uint8 (N, 28, 28) and int64 (N,).

    Whole datasets stay in memory: a per-sample PIL DataLoader ran 2x slower on 2 cores.
    """
    spec = get_spec(name)
    if split not in ("train", "test"):
        raise ConfigError(f"unknown split {split!r}; choose train or test")
    folder = spec.raw_dir(root)
    check_folder(folder)
    if not is_present(spec, folder):
        raise DataError(f"{spec.name} is not in {folder}; run `lenet data fetch {spec.name}` "
                        f"(or pass --data-root / set ${DATA_ROOT_ENV} to where it is)")
    images = verify_file(spec, getattr(spec, f"{split}_images"), folder, check_hash)
    labels = verify_file(spec, getattr(spec, f"{split}_labels"), folder, check_hash)
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))
