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
import torch.nn.functional as F

from .config import LeNet5Config
from .seeds import generator

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


def affine_theta(params: torch.Tensor, size: int = 28) -> torch.Tensor:
    """`affine_grid` matrices (M, 2, 3) mapping output to input coordinates (normalised [-1, 1]).

    Forward map of a digit point (x, y), image centre at 0:
        x' = sx (x + h y) + tx,  y' = sy y + ty,  sx = s (1 - q),  sy = s (1 + q).
    """
    tx, ty, s, q, h = params.unbind(-1)
    sx, sy = s * (1 - q), s * (1 + q)
    M = torch.zeros(*params.shape[:-1], 2, 2, dtype=params.dtype)
    M[..., 0, 0], M[..., 0, 1], M[..., 1, 1] = sx, sx * h, sy
    t = torch.stack([tx, ty], -1) * (2.0 / size)  # pixels -> normalised units
    Minv = torch.linalg.inv(M)
    return torch.cat([Minv, -(Minv @ t.unsqueeze(-1))], -1)


def warp(images01: torch.Tensor, params: torch.Tensor, chunk: int = 10_000) -> torch.Tensor:
    """Distort (M, 28, 28) [0, 1] images (bilinear, background-filled). Returns float32 (M, 28, 28)."""
    out = torch.empty(images01.shape, dtype=torch.float32)
    for i in range(0, len(images01), chunk):
        x = images01[i:i + chunk].float().unsqueeze(1)
        theta = affine_theta(params[i:i + chunk]).float()
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        out[i:i + chunk] = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                                         align_corners=False).squeeze(1)
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
