"""Training-set distortions (Sec. III-C).

"... the training set was augmented with artificially generated distorted versions of the
original training samples. The distortions were combinations of the following planar affine
transformations: horizontal and vertical translations, scaling, squeezing (simultaneous
horizontal compression and vertical elongation, or the reverse), and horizontal shearing."
60,000 originals + 540,000 distorted copies; 20 passes of 60,000 patterns each.

The ranges are not given in the paper; they are options (LeNet5Config.translate_px, scale_range,
squeeze_range, shear_range) with assumed defaults recorded in the fidelity ledger.

Pool and order (ASSUMED, see the ledger): pool index k in [0, 600,000) is original image k % 60,000
distorted by copy k // 60,000 (copy 0 = the original). One fixed random permutation of the pool
(from the seed) is walked 60,000 patterns per pass, so in 20 passes every pattern is seen twice.
Distortion parameters are drawn once from the seed; images are warped a pass at a time, so the
600,000 images are never held in memory together.
"""

from __future__ import annotations

import torch

from .config import LeNet5Config
from .seeds import generator
from .warp_numerics import WARP_NUMERICS  # noqa: F401  (the warp's arithmetic version: bump it there)

N_TRAIN = 60_000


def distortion_parameters(cfg: LeNet5Config, seed: int, n: int = N_TRAIN) -> torch.Tensor:
    """(copies, n, 5): translation x, y (pixels), scale, squeeze, shear for every distorted copy."""
    g = generator(seed, "distortion-parameters")
    u = torch.rand(cfg.distortion_copies, n, 5, generator=g, dtype=torch.float64) * 2 - 1  # U(-1, 1)
    ranges = torch.tensor([cfg.translate_px, cfg.translate_px, cfg.scale_range, cfg.squeeze_range,
                           cfg.shear_range], dtype=torch.float64)
    p = u * ranges
    p[..., 2] += 1.0  # scale factor around 1
    return p


def warp(images01: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """`warp_reference`, computed by the C kernel when it is available (the same bits, ~50x faster)."""
    from .fast import fast_available, load_kernel

    if fast_available(notice=False):
        return load_kernel().warp(images01.float().contiguous(), params.to(torch.float64).contiguous())
    return warp_reference(images01, params)


def warp_reference(images01: torch.Tensor, params: torch.Tensor, chunk: int = 10_000) -> torch.Tensor:
    """Distort (M, 28, 28) [0, 1] images (bilinear, zero background). Returns float32 (M, 28, 28).

    Forward map of a digit point (x, y) in pixels, origin at the image centre, pixel centres at +-0.5:
        x' = sx (x + h y) + tx,  y' = sy y + ty,  sx = s (1 - q),  sy = s (1 + q).
    Every output pixel is inverted through it and sampled bilinearly from the four pixels around.

    Bit-identical on every CPU: float64 throughout, and each step is a separate elementwise torch op
    (+, -, *, /, floor, gather), which IEEE rounds the same whatever vector width or ISA torch
    dispatches to. (`F.grid_sample` is not: its AVX2 and default kernels differ in the last bit.)
    """
    m, n = images01.shape[0], images01.shape[-1]
    out = torch.empty((m, n, n), dtype=torch.float32)
    centre = n / 2
    coords = torch.arange(n, dtype=torch.float64) + (0.5 - centre)  # pixel centres, origin at the centre
    xo, yo = coords.view(1, 1, n), coords.view(1, n, 1)
    for i in range(0, m, chunk):
        img = images01[i:i + chunk].to(torch.float64).reshape(-1, n * n)
        k = len(img)
        tx, ty, s, q, h = (v.view(k, 1, 1) for v in params[i:i + chunk].to(torch.float64).unbind(-1))
        sx, sy = s * (1 - q), s * (1 + q)
        y = (yo - ty) / sy                              # (k, n, 1)
        x = (xo - tx) / sx - h * y                      # (k, n, n)
        col = (x + (centre - 0.5)).expand(k, n, n)      # source column / row in pixel-index units
        row = (y + (centre - 0.5)).expand(k, n, n)
        c0, r0 = torch.floor(col), torch.floor(row)
        a, b = col - c0, row - r0
        acc = torch.zeros((k, n, n), dtype=torch.float64)
        for dr, dc, wt in ((0, 0, (1 - a) * (1 - b)), (0, 1, a * (1 - b)), (1, 0, (1 - a) * b), (1, 1, a * b)):
            r, c = r0 + dr, c0 + dc
            inside = (r >= 0) & (r < n) & (c >= 0) & (c < n)
            flat = (r.clamp(0, n - 1) * n + c.clamp(0, n - 1)).long().reshape(k, -1)
            v = torch.gather(img, 1, flat).view(k, n, n)
            acc = acc + torch.where(inside, wt * v, torch.zeros((), dtype=torch.float64))
        out[i:i + chunk] = acc.to(torch.float32)
    return out


class DistortedPool:
    """The 600,000-pattern pool of one run, produced a pass at a time."""

    def __init__(self, cfg: LeNet5Config, seed: int, images: torch.Tensor, labels: torch.Tensor):
        self.cfg, self.seed = cfg, seed
        self.images, self.labels = images, labels  # uint8 (n, 28, 28), int64 (n,)
        self.n = len(images)
        self.size = self.n * (1 + cfg.distortion_copies)
        self.params = distortion_parameters(cfg, seed, self.n)  # (copies, n, 5)
        self.order = torch.randperm(self.size, generator=generator(seed, "pool-order"))

    def pass_indices(self, pass_index: int) -> torch.Tensor:
        """Pool indices of the patterns of one pass (n of them)."""
        per_cycle = self.size // self.n
        start = (pass_index % per_cycle) * self.n
        return self.order[start:start + self.n]

    def patterns(self, pool_idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """([0, 1] float32 (m, 28, 28), labels) for pool indices, originals untouched."""
        base = pool_idx % self.n
        copy = pool_idx // self.n
        out = self.images[base].float() / 255.0
        distorted = (copy > 0).nonzero().flatten()
        if len(distorted):
            p = self.params[copy[distorted] - 1, base[distorted]]
            out[distorted] = warp(out[distorted], p)
        return out, self.labels[base]
