"""Input normalisation (Sec. III-A, Sec. II-B).

MNIST's 28x28 images are padded with 2 background pixels on each side to 32x32, and pixel values
are mapped so that background (white) = -0.1 and foreground (black) = 1.175, making the mean
roughly 0 and the variance roughly 1. MNIST stores ink as 255 and background as 0, so
x = -0.1 + 1.275 * pixel / 255. The `unit` ablation keeps [0, 1] (background 0).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lenet_repro.errors import ConfigError

BACKGROUND = -0.1
INK = 1.175
SCALINGS = {"paper": (BACKGROUND, INK), "unit": (0.0, 1.0), "lush": (0.0, 2.55)}  # lush: pixel x 0.01


def scale(images01: torch.Tensor, scaling: str = "paper") -> torch.Tensor:
    """Map [0, 1] ink intensities to the network's input range."""
    if scaling not in SCALINGS:
        raise ConfigError(f"unknown input scaling {scaling!r}; use {', '.join(SCALINGS)}")
    lo, hi = SCALINGS[scaling]
    return lo + (hi - lo) * images01


def to_input(images: torch.Tensor, scaling: str = "paper") -> torch.Tensor:
    """uint8 (N, 28, 28) or float [0, 1] (N, 28, 28) -> float32 (N, 1, 32, 32) network input."""
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    x = F.pad(x, (2, 2, 2, 2), value=0.0)  # pad with background before scaling
    return scale(x, scaling).unsqueeze(1).contiguous()
