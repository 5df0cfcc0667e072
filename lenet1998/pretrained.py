"""Shipped checkpoints: `lenet1998.pretrained("lenet5")` and `("lenet5-distortions")`, and the input
transform they expect (`input_transform`: MNIST's 28x28 digits -> the network's 32x32 input).

    from lenet1998 import input_transform, pretrained
    model = pretrained("lenet5")
    digits = model.predict(input_transform(images))  # images: uint8 (N, 28, 28) as in MNIST's files

Each is a run of its kind from the committed full report (reports/full/runs/), chosen by
`python -m reports.ship` (the median seed by test misses since issue 10; the record's "shipped" field
says which seed and how it was chosen); its run record sits beside it (`checkpoints/<name>.json`) and the test suite re-evaluates it on the real MNIST
test set and asserts the recorded number of misses exactly.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import torch

from lenet_repro import records
from lenet_repro.errors import ConfigError, RecordError

from .config import LeNet5Config
from .model import LeNet5

SHIPPED = ("lenet5", "lenet5-distortions")


def shipped_path(name: str) -> Path:
    return Path(str(resources.files("lenet1998").joinpath(f"checkpoints/{name}.pt")))


def load(name_or_path: str) -> tuple[LeNet5, dict]:
    """(model in eval mode, checkpoint dict) from a shipped name, a checkpoint file or a run folder."""
    if name_or_path in SHIPPED:
        path = shipped_path(name_or_path)
        if not path.exists():
            raise RecordError(f"shipped checkpoint {name_or_path!r} is missing from this installation ({path}); "
                              f"reinstall lenet-repro")
    else:
        path = Path(name_or_path)
        if path.is_dir():
            path = path / "checkpoint.pt"
        if not path.exists():
            raise RecordError(f"{name_or_path}: no such checkpoint or shipped name; use a checkpoint.pt, a run "
                              f"folder, or one of {', '.join(SHIPPED)}")
    blob = records.load_checkpoint(path)
    if blob.get("family") != "lenet1998":
        raise RecordError(f"{path} is a {blob.get('family')!r} checkpoint, not a LeNet-5 (1998) one; `lenet evaluate` "
                          f"and pretrained() take LeNet-5 checkpoints (a textbook run's result.json holds its "
                          f"test accuracy)")
    records.checkpoint_fields(blob, path, {"model_config": dict, "state_dict": dict})
    try:
        cfg = LeNet5Config.from_dict(blob["model_config"])
    except ConfigError as e:
        raise RecordError(f"{path}: unreadable model config ({e}); the file is damaged or from another version, "
                          f"re-run the training") from None
    model = LeNet5(cfg)
    records.load_weights(model, blob["state_dict"], path)
    if name_or_path in SHIPPED:  # how it was chosen (seed, misses, from how many seeds): its record says
        import json

        try:
            blob["shipped"] = json.loads(path.with_suffix(".json").read_text()).get("shipped")
        except (OSError, ValueError):
            blob["shipped"] = None
    return model.eval(), blob


def input_transform(images, scaling: str = "paper") -> torch.Tensor:
    """MNIST digits -> the input of a LeNet-5 (the shipped checkpoints, torch.hub's `lenet5`).

    The paper's preprocessing (lenet1998/preprocessing.py `to_input`): the 28x28 image is padded with 2
    background pixels on each side to 32x32 (Sec. III-A) and scaled so that background is -0.1 and ink
    1.175 (Sec. II-B: x = -0.1 + 1.275 * pixel / 255), the padding being background. `scaling` is the
    network's `config.input_scaling` ("paper" for both shipped checkpoints; "unit", "lush" for ablations).

    `images`: one digit (28, 28) or a batch (N, 28, 28) or (N, 1, 28, 28), a torch tensor or numpy array,
    either uint8 as MNIST stores it (0 = background, 255 = ink) or floating point in [0, 1] (1 = ink).
    Returns float32 (N, 1, 32, 32); a single digit gives N = 1. Anything else is a ConfigError.
    """
    from .preprocessing import SCALINGS, to_input

    if scaling not in SCALINGS:
        raise ConfigError(f"unknown input scaling {scaling!r}; use {', '.join(SCALINGS)}")
    if not isinstance(images, torch.Tensor):
        try:
            import numpy as np

            images = torch.from_numpy(np.ascontiguousarray(images))
        except (TypeError, ValueError):
            raise ConfigError(f"input_transform takes a torch tensor or a numpy array of digits, got "
                              f"{type(images).__name__}") from None
    shape = tuple(images.shape)
    if images.dim() == 4 and shape[1] == 1:
        images = images[:, 0]
    elif images.dim() == 2:
        images = images.unsqueeze(0)
    if images.dim() != 3 or tuple(images.shape[1:]) != (28, 28):
        raise ConfigError(f"input_transform takes 28x28 MNIST digits: (28, 28), (N, 28, 28) or (N, 1, 28, 28); "
                          f"got shape {shape}")
    if images.dtype != torch.uint8:
        if not images.is_floating_point():
            raise ConfigError(f"input_transform takes uint8 pixels (0..255) or floats in [0, 1], got {images.dtype}; "
                              f"convert the array first")
        if images.numel() and not (bool(torch.isfinite(images).all()) and images.min() >= 0 and images.max() <= 1):
            raise ConfigError("input_transform takes floating-point pixels in [0, 1] (1 = ink); got values outside "
                              "that range (uint8 images are scaled from 0..255 themselves)")
    return to_input(images, scaling)


def pretrained(name: str = "lenet5") -> LeNet5:
    """The shipped LeNet-5 `name` ("lenet5", or "lenet5-distortions": trained on the distorted patterns,
    Sec. III-C.2), in eval mode; its input comes from `input_transform`, its output is 10 RBF penalties
    (`.predict` takes the smallest)."""
    if name not in SHIPPED:
        raise ConfigError(f"unknown pretrained model {name!r}; choose one of {', '.join(SHIPPED)}")
    return load(name)[0]
