"""The "[16x16]" input version of MNIST (Sec. III-A, Sec. III-C.7).

Sec. III-A: "In the third version of the database, ... the images were reduced to 16x16 pixels."
Sec. III-C.7 (LeNet-1): "The images were down-sampled to 16x16 pixels and centered in the 28x28
input layer."

Readings taken where the paper is silent (ASSUMED):
  * what is reduced: the 20x20 box each MNIST digit was size-normalised into (centred by centre of
    mass in 28x28), found as the 20x20 window centred on the bounding box of the ink (grey > 0),
    `crop_to_ink` of lenet1998/inputs/deslant.py;
  * how: area averaging by the factor 16/20 = 0.8, an exact area-weighted box filter. Output pixel i
    covers [1.25 i, 1.25 (i + 1)] in input pixel units; R[i, k] is its overlap with input pixel
    [k, k + 1] divided by 1.25, so every row of R sums to 1 and out = R X R^T (separable: the overlap
    area of two squares is the product of the overlap lengths). Each column of R sums to 0.8, so the
    mean grey level is kept;
  * "centered in the 28x28 input layer": 6 background pixels on every side (6 + 16 + 6 = 28).
"""

from __future__ import annotations

import torch

from lenet_repro.errors import ConfigError

from .deslant import SIZE, crop_to_ink

SIXTEEN = 16
LAYER = 28  # LeNet-1's input layer (Sec. III-C.7)


def resampling_matrix(n_in: int = SIZE, n_out: int = SIXTEEN) -> torch.Tensor:
    """(n_out, n_in) float64 area-averaging matrix: R[i, k] = |[i f, (i+1) f] & [k, k+1]| / f, f = n_in / n_out.

    Rows sum to 1 (each output pixel is the mean of the input it covers), columns to n_out / n_in.
    """
    for name, v in (("n_in", n_in), ("n_out", n_out)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")
    # Cell edges in units of 1 / n_out of an input pixel: output cell i is [i n_in, (i+1) n_in],
    # input pixel k is [k n_out, (k+1) n_out]; integer arithmetic, so the overlaps are exact.
    i = torch.arange(n_out, dtype=torch.int64).view(n_out, 1)
    k = torch.arange(n_in, dtype=torch.int64).view(1, n_in)
    lo = torch.maximum(i * n_in, k * n_out)
    hi = torch.minimum((i + 1) * n_in, (k + 1) * n_out)
    overlap = (hi - lo).clamp(min=0)                                # (n_out, n_in), in 1 / n_out pixels
    return overlap.to(torch.float64) / n_in                         # / n_out (units) / f = / n_in


def to_16x16(images: torch.Tensor) -> torch.Tensor:
    """The [16x16] version (Sec. III-A): the 20x20 ink box of each digit, area-averaged to 16x16.

    uint8 or float [0, 1] (N, H, W), H, W >= 20 (MNIST: 28x28) -> float32 (N, 16, 16) in [0, 1];
    (H, W) -> (16, 16).
    """
    box = crop_to_ink(images).to(torch.float64)                     # (N, 28, 28) -> (N, 20, 20)
    r = resampling_matrix(SIZE, SIXTEEN)                            # (16, 20)
    out = r @ box @ r.T                                             # (N, 20, 20) -> (N, 16, 16)
    return out.clamp_(0.0, 1.0).to(torch.float32)


def centered_in_28(images16: torch.Tensor) -> torch.Tensor:
    """LeNet-1's input (Sec. III-C.7): a 16x16 image centred in 28x28, 6 background (0) pixels each side.

    (N, 16, 16) -> (N, 28, 28), (16, 16) -> (28, 28), same dtype; the image lies at rows/cols 6..21.
    """
    if not isinstance(images16, torch.Tensor):
        raise ConfigError(f"images16 must be a torch.Tensor, not {type(images16).__name__}")
    if images16.dim() not in (2, 3) or tuple(images16.shape[-2:]) != (SIXTEEN, SIXTEEN):
        raise ConfigError(f"images16 must be (16, 16) or (N, 16, 16), got shape {tuple(images16.shape)}; "
                          f"reduce the digits with to_16x16 first")
    pad = (LAYER - SIXTEEN) // 2
    out = images16.new_zeros(images16.shape[:-2] + (LAYER, LAYER))
    out[..., pad:pad + SIXTEEN, pad:pad + SIXTEEN] = images16       # (N, 16, 16) -> (N, 28, 28)
    return out
