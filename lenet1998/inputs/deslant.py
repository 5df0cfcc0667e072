"""The "[deslant]" input version of MNIST (Sec. III-A).

"... the character images were deslanted and cropped down to 20x20 pixels images. The deslanting
computes the second moments of inertia of the pixels (counting a foreground pixel as 1 and a
background pixel as 0), and shears the image by horizontally shifting the lines so that the principal
axis is vertical."

Coordinates: x is the column index, y the row index (downwards), pixel centres at integers. With the
binarised image f(x, y) in {0, 1}, m00 = sum f, (xc, yc) its centroid and
    mu_pq = sum f (x - xc)^p (y - yc)^q        (unnormalised: moments of inertia with unit pixel mass).
The shear x' = x - s (y - yc) keeps every row (y) and shifts it horizontally around the centroid row;
s = mu11 / mu02 (see `shear_factor`) makes the principal axis vertical.

Readings taken where the paper is silent (ASSUMED):
  * binarisation threshold: foreground = grey > 0.5 of the maximum grey level (uint8: pixel >= 128);
  * grey levels are kept: each row is resampled by linear interpolation at the shifted positions
    (a horizontal shift needs no vertical interpolation), zero outside the image, float64 throughout;
  * crop: MNIST digits were size-normalised into a 20x20 box and centred by centre of mass in 28x28,
    but where the paper's 20x20 crop sits after the shear is unstated. We take the 20x20 window of the
    sheared image centred on the bounding box of its ink (every pixel with grey > 0; the sheared box is
    spanned by the shifted centres of each row's first and last ink pixel), its corner rounded to the
    pixel grid. Ink outside the window (a character wider than 20 pixels after the shear) is cut off.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from lenet_repro.errors import ConfigError

THRESHOLD = 0.5  # ASSUMED: half the maximum grey level (uint8 pixel >= 128 is foreground)
SIZE = 20        # Sec. III-A: "cropped down to 20x20 pixels images"


class Moments(NamedTuple):
    """Zeroth moment, centroid and second central moments of a binarised image (float64, shape (N,)
    for a batch, () for one image). A blank image has m00 = 0, the image centre as centroid and
    zero second moments."""
    m00: torch.Tensor
    xc: torch.Tensor
    yc: torch.Tensor
    mu20: torch.Tensor
    mu11: torch.Tensor
    mu02: torch.Tensor


def as_unit(images: torch.Tensor, name: str = "images") -> torch.Tensor:
    """uint8 [0, 255] or float [0, 1] (H, W) / (N, H, W) -> float64 [0, 1] of the same shape."""
    if not isinstance(images, torch.Tensor):
        raise ConfigError(f"{name} must be a torch.Tensor, not {type(images).__name__}")
    if images.dim() not in (2, 3):
        raise ConfigError(f"{name} must be (H, W) or (N, H, W), got shape {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return images.to(torch.float64) / 255.0
    if not images.is_floating_point():
        raise ConfigError(f"{name} must be uint8 [0, 255] or float [0, 1], got dtype {images.dtype}")
    x = images.to(torch.float64)
    if x.numel() and not bool(((x >= 0) & (x <= 1)).all()):
        raise ConfigError(f"float {name} must lie in [0, 1] (NaN not allowed); divide uint8 pixels by 255")
    return x


def _check_threshold(threshold: float) -> float:
    if not isinstance(threshold, (int, float)) or not 0.0 <= float(threshold) < 1.0:
        raise ConfigError(f"threshold must be a number in [0, 1) (a fraction of the maximum grey level), "
                          f"got {threshold!r}")
    return float(threshold)


def _moments(x: torch.Tensor, threshold: float) -> Moments:
    """`moments` of float64 [0, 1] (N, H, W) images."""
    n, h, w = x.shape
    f = (x > threshold).to(torch.float64)                           # (N, H, W) foreground 1, background 0
    ys = torch.arange(h, dtype=torch.float64).view(1, h, 1)
    xs = torch.arange(w, dtype=torch.float64).view(1, 1, w)
    m00 = f.sum((1, 2))                                             # (N,)
    some = m00 > 0
    safe = torch.where(some, m00, torch.ones((), dtype=torch.float64))
    xc = torch.where(some, (f * xs).sum((1, 2)) / safe, torch.full((), (w - 1) / 2, dtype=torch.float64))
    yc = torch.where(some, (f * ys).sum((1, 2)) / safe, torch.full((), (h - 1) / 2, dtype=torch.float64))
    dx = xs - xc.view(n, 1, 1)                                      # central, not sum(x^2) - m00 xc^2:
    dy = ys - yc.view(n, 1, 1)                                      # no cancellation
    return Moments(m00, xc, yc, (f * dx * dx).sum((1, 2)), (f * dx * dy).sum((1, 2)), (f * dy * dy).sum((1, 2)))


def moments(img: torch.Tensor, threshold: float = THRESHOLD) -> Moments:
    """Centroid and second central moments of the binarised image (Sec. III-A: "counting a foreground
    pixel as 1 and a background pixel as 0"): foreground = grey > threshold * max grey level.

    img: uint8 or float [0, 1], (H, W) -> fields of shape (), or (N, H, W) -> fields of shape (N,).
    """
    x = as_unit(img, "img")
    m = _moments(x if x.dim() == 3 else x.unsqueeze(0), _check_threshold(threshold))
    return m if x.dim() == 3 else Moments(*(v[0] for v in m))


def shear_factor(m: Moments) -> torch.Tensor:
    """The horizontal shear s of x' = x - s (y - yc) that makes the principal axis vertical: s = mu11 / mu02.

    Under the shear (rows kept, so the centroid stays put) the second moments become
        mu20' = mu20 - 2 s mu11 + s^2 mu02,   mu11' = mu11 - s mu02,   mu02' = mu02.
    The principal axis is the eigenvector of the inertia matrix C' = [[mu20', mu11'], [mu11', mu02']]
    with the largest eigenvalue (the direction of elongation; it is also the axis about which the
    physical moment of inertia [[mu02', -mu11'], [-mu11', mu20']] is least: same eigenvectors).
      * If mu11' != 0, neither (1, 0) nor (0, 1) is an eigenvector of C', so no axis of inertia is
        vertical. Hence s = mu11 / mu02 (mu11' = 0) is the only shear that can make it vertical.
      * With mu11' = 0, C' = diag(mu20', mu02'): its eigenvectors are exactly horizontal (eigenvalue
        mu20') and exactly vertical (eigenvalue mu02'). The vertical one is the principal axis iff
        mu02' >= mu20' (at equality every direction is principal, the vertical included), which holds
        for upright characters (digits are taller than wide).
      * If mu02' < mu20' (a character wider than tall even then), no horizontal shear makes the
        principal axis vertical: mu02 is shear-invariant and mu20'(s) is smallest exactly at
        s = mu11 / mu02 (d mu20'/ds = 2 (s mu02 - mu11) = 0). Reading taken (ASSUMED): apply the same
        s anyway; it makes the axes of inertia horizontal and vertical (the major one horizontal), is the
        shear that narrows the character most, and keeps s continuous in the image (no jump to s = 0).
        This is the usual MNIST "deskew".
    Degenerate cases, no NaN: mu02 = 0 (blank image, or all foreground on one row, which the shear
    about the centroid row leaves in place) gives s = 0.

    m: `Moments` -> s of the same shape (float64).
    """
    flat = m.mu02 > 0
    return torch.where(flat, m.mu11 / torch.where(flat, m.mu02, torch.ones_like(m.mu02)), torch.zeros_like(m.mu11))


def sheared_moments(m: Moments, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mu20', mu11', mu02') after x' = x - s (y - yc), from the moments before (see `shear_factor`)."""
    return m.mu20 - 2 * s * m.mu11 + s * s * m.mu02, m.mu11 - s * m.mu02, m.mu02


def _ink_window(x: torch.Tensor, s: torch.Tensor, yc: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top row r0 and left column c0 (int64, (N,)) of the size x size window of the sheared image
    x'(r, c) = x(r, c + s (r - yc)) centred on the bounding box of its ink (grey > 0)."""
    n, h, w = x.shape
    ink = x > 0                                                     # (N, H, W)
    rows = ink.any(2)                                               # (N, H) rows with ink
    blank = ~rows.any(1)                                            # (N,)
    r = torch.arange(h, dtype=torch.float64).view(1, h)
    first = ink.to(torch.int8).argmax(2).to(torch.float64)          # (N, H) first ink column of each row
    last = (w - 1) - ink.flip(2).to(torch.int8).argmax(2).to(torch.float64)
    shift = s.view(n, 1) * (r - yc.view(n, 1))                      # (N, H) x' = x - shift
    inf = torch.full((), float("inf"), dtype=torch.float64)
    left = torch.where(rows, first - shift, inf).amin(1)            # (N,) sheared ink box, pixel centres
    right = torch.where(rows, last - shift, -inf).amax(1)
    top = torch.where(rows, r, inf).amin(1)
    bottom = torch.where(rows, r, -inf).amax(1)
    half = (size - 1) / 2                                           # a blank image: the middle window
    cx = torch.where(blank, torch.full((), (w - 1) / 2, dtype=torch.float64), (left + right) / 2)
    cy = torch.where(blank, torch.full((), (h - 1) / 2, dtype=torch.float64), (top + bottom) / 2)
    c0 = torch.floor(cx - half + 0.5)                               # the window centre nearest the box
    r0 = torch.floor(cy - half + 0.5)                               # centre (ties to the right / down)
    return r0.long(), c0.long()


def _shear_crop(x: torch.Tensor, s: torch.Tensor, yc: torch.Tensor, size: int) -> torch.Tensor:
    """Sample the sheared image x'(r, c) = x(r, c + s (r - yc)) on its ink window.
    float64 [0, 1] (N, H, W) -> float64 (N, size, size); linear interpolation along each row, zero outside.

    Elementwise float64 ops and gathers only, so the result is deterministic and the same bits on any CPU
    (as in lenet1998/distortions.py). With s = 0 every sample falls on a pixel and is copied exactly.
    """
    n, h, w = x.shape
    r0, c0 = _ink_window(x, s, yc, size)
    k = torch.arange(size).view(1, size)
    rows = r0.view(n, 1) + k                                        # (N, size) source rows
    row_in = (rows >= 0) & (rows < h)
    src = x[torch.arange(n).view(n, 1), rows.clamp(0, h - 1)]       # (N, H, W) -> (N, size, W)
    shift = s.view(n, 1) * (rows.to(torch.float64) - yc.view(n, 1))  # (N, size)
    col = (c0.view(n, 1) + k).to(torch.float64).view(n, 1, size) + shift.view(n, size, 1)  # (N, size, size)
    c_lo = torch.floor(col)
    a = col - c_lo                                                  # weight of the right-hand pixel
    out = torch.zeros((n, size, size), dtype=torch.float64)
    for dc, wt in ((0, 1 - a), (1, a)):
        c = c_lo + dc
        inside = (c >= 0) & (c < w) & row_in.view(n, size, 1)
        v = torch.gather(src, 2, c.clamp(0, w - 1).long())          # (N, size, size)
        out = out + torch.where(inside, wt * v, torch.zeros((), dtype=torch.float64))
    return out


def _check_size(x: torch.Tensor, size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"size must be a positive integer, got {size!r}")
    h, w = x.shape[-2:]
    if h < size or w < size:
        raise ConfigError(f"images are {h}x{w}, smaller than the {size}x{size} crop; pass MNIST's 28x28 images")


def _batched(images: torch.Tensor, fn, size: int, chunk: int) -> torch.Tensor:
    """Apply fn (float64 (n, H, W) -> float64 (n, size, size)) `chunk` images at a time.
    uint8 / float [0, 1] (N, H, W) -> float32 (N, size, size) in [0, 1]; (H, W) -> (size, size)."""
    x = as_unit(images)
    _check_size(x, size)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ConfigError(f"chunk must be a positive integer, got {chunk!r}")
    single = x.dim() == 2
    x = x.unsqueeze(0) if single else x                             # (N, H, W)
    out = torch.empty((x.shape[0], size, size), dtype=torch.float32)
    for i in range(0, x.shape[0], chunk):
        out[i:i + chunk] = fn(x[i:i + chunk]).clamp_(0.0, 1.0).to(torch.float32)
    return out[0] if single else out


def deslant(images: torch.Tensor, threshold: float = THRESHOLD, size: int = SIZE,
            chunk: int = 10_000) -> torch.Tensor:
    """The [deslant] version (Sec. III-A): shear each image so that the principal axis of its binarised
    pixels is vertical (s = `shear_factor`, around the centroid row), then crop to size x size around
    the sheared ink (see the module docstring for the readings taken).

    uint8 or float [0, 1] (N, H, W) -> float32 (N, size, size) in [0, 1]; (H, W) -> (size, size).
    A blank image gives zeros.
    """
    threshold = _check_threshold(threshold)

    def one(xi: torch.Tensor) -> torch.Tensor:
        m = _moments(xi, threshold)
        return _shear_crop(xi, shear_factor(m), m.yc, size)

    return _batched(images, one, size, chunk)                      # (N, 28, 28) -> (N, 20, 20)


def crop_to_ink(images: torch.Tensor, size: int = SIZE, chunk: int = 10_000) -> torch.Tensor:
    """The size x size window centred on the bounding box of the ink (grey > 0), no shear: for a MNIST
    digit, the 20x20 box it was size-normalised into (Sec. III-A). Pixels are copied, not resampled.

    uint8 or float [0, 1] (N, H, W) -> float32 (N, size, size); (H, W) -> (size, size).
    """
    def one(xi: torch.Tensor) -> torch.Tensor:
        zero = torch.zeros(xi.shape[0], dtype=torch.float64)
        return _shear_crop(xi, zero, zero, size)

    return _batched(images, one, size, chunk)                      # (N, 28, 28) -> (N, 20, 20)
