"""Nearest neighbour with the tangent distance (Sec. III-C.10, after Simard, LeCun & Denker 1993),
on the [16x16] images (lenet1998/inputs/sixteen.py).

"the distance between their tangent planes, where the set of distortions used to generate the planes
includes translations, scaling, skewing, squeezing, rotation, and line thickness variations. A test
error rate of 1.1% was achieved using 16x16 pixel images. Prefiltering techniques using simple
Euclidean distance at multiple resolutions allowed to reduce the number of necessary Tangent Distance
calculations."

- Tangent vectors (7 per image): the derivative of the image under each transformation at 0, from the
  gradients (gx, gy) of the image smoothed by a Gaussian of `sigma` pixels (Simard et al.): x and y
  translation (gx, gy), rotation (y gx - x gy), scaling (x gx + y gy), squeezing / parallel hyperbolic
  (x gx - y gy), skewing / diagonal hyperbolic (y gx + x gy), thickness (gx^2 + gy^2), with (x, y)
  centred on the image;
- two-sided distance ("between their tangent planes"): min over a, b of
  |(p + T_p a) - (e + T_e b)|^2 + spring (|a|^2 + |b|^2), solved exactly (a 14 x 14 linear system per
  pair); spring > 0 keeps the system well posed (the "spring" of Simard et al.);
- prefilter: the `prefilter` Euclidean-nearest training images (at 16x16, then at 8x8 for the first
  cut when `coarse` > 0 -- "at multiple resolutions") are the only candidates of the tangent distance;
- decision: the k nearest by tangent distance vote as in knn.py.
The paper gives none of the settings: sigma, the prefilter size and k are chosen on held-out digits
(issue 18: reports/sections/comparison.py's grids, THE RULE); spring and the 8x8 cut (coarse) are ASSUMED.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lenet_repro.errors import ConfigError

from .knn import nearest, vote_scores

TANGENTS = ("x-translation", "y-translation", "rotation", "scaling", "squeezing", "skewing", "thickness")


def _gauss_kernel(sigma: float) -> torch.Tensor:
    r = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.exp(-t * t / (2 * sigma * sigma))
    return k / k.sum()


def tangent_vectors(images: torch.Tensor, sigma: float = 0.9) -> torch.Tensor:
    """(N, H, W) float images -> (N, 7, H*W) tangent vectors (TANGENTS order)."""
    if images.ndim != 3:
        raise ConfigError(f"tangent vectors need (N, H, W) images, got shape {tuple(images.shape)}")
    if sigma <= 0:
        raise ConfigError(f"sigma must be > 0, got {sigma}")
    n, h, w = images.shape
    x = images.double().unsqueeze(1)  # (N, 1, H, W)
    k = _gauss_kernel(sigma)
    r = len(k) // 2
    x = F.conv2d(F.pad(x, (r, r, 0, 0)), k.view(1, 1, 1, -1))  # separable Gaussian smoothing (zero outside)
    x = F.conv2d(F.pad(x, (0, 0, r, r)), k.view(1, 1, -1, 1))
    gx = F.conv2d(F.pad(x, (1, 1, 0, 0)), torch.tensor([-0.5, 0.0, 0.5], dtype=torch.float64).view(1, 1, 1, 3))
    gy = F.conv2d(F.pad(x, (0, 0, 1, 1)), torch.tensor([-0.5, 0.0, 0.5], dtype=torch.float64).view(1, 1, 3, 1))
    gx, gy = gx[:, 0], gy[:, 0]  # (N, H, W): d/dx (columns), d/dy (rows)
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64) - (h - 1) / 2,
                            torch.arange(w, dtype=torch.float64) - (w - 1) / 2, indexing="ij")
    t = torch.stack([gx, gy, yy * gx - xx * gy, xx * gx + yy * gy, xx * gx - yy * gy, yy * gx + xx * gy,
                     gx * gx + gy * gy], dim=1)  # (N, 7, H, W)
    return t.reshape(n, 7, h * w)


def two_sided(p: torch.Tensor, tp: torch.Tensor, e: torch.Tensor, te: torch.Tensor, spring: float = 0.01
              ) -> torch.Tensor:
    """Squared two-sided tangent distances of pairs: p, e (B, D); tp, te (B, 7, D) -> (B,).

    With A = [T_p^T, -T_e^T] (D x 14) and d = e - p: min_z |A z - d|^2 + spring |z|^2 =
    |d|^2 - d^T A (A^T A + spring I)^-1 A^T d."""
    if spring < 0:
        raise ConfigError(f"spring must be >= 0, got {spring}")
    a = torch.cat([tp, -te], dim=1)  # (B, 14, D)
    d = (e - p).double()  # (B, D)
    g = a @ a.transpose(1, 2) + spring * torch.eye(a.shape[1], dtype=torch.float64)  # (B, 14, 14)
    rhs = (a @ d.unsqueeze(2))  # (B, 14, 1)
    z = torch.linalg.solve(g, rhs)
    return ((d * d).sum(1) - (rhs * z).sum((1, 2))).clamp(min=0.0)


@dataclass
class TangentDistance:
    train: torch.Tensor  # (M, 16, 16)
    labels: torch.Tensor  # (M,)
    tangents: torch.Tensor  # (M, 7, 256)
    k: int = 1
    prefilter: int = 50
    coarse: int = 500
    sigma: float = 0.9
    spring: float = 0.01

    @property
    def parameters(self) -> int:  # stored: the images and their tangent vectors
        return self.train.numel() + self.tangents.numel()

    @property
    def multiply_adds(self) -> int:
        """Per recognition (Fig. 11), the prefilter's Euclidean distances (8x8 to all, 16x16 to the `coarse`
        survivors) plus, per candidate, the 14 x 14 normal equations of the two-sided distance."""
        n, d = len(self.train), self.train[0].numel()
        coarse = self.coarse if self.coarse and self.coarse < n else 0
        euclid = (n * d // 4 + coarse * d) if coarse else n * d
        return euclid + self.prefilter * (14 * 14 * d + 14 * d)

    def candidates(self, x: torch.Tensor) -> torch.Tensor:
        """(N, prefilter) training indices: Euclidean at 8x8 down to `coarse`, then at 16x16 down to `prefilter`."""
        x = _as_images(x)
        flat = self.train.reshape(len(self.train), -1)
        q = x.reshape(len(x), -1)
        if self.coarse and self.coarse < len(self.train):
            small = F.avg_pool2d(self.train.unsqueeze(1), 2).flatten(1)
            _, c = nearest(small, F.avg_pool2d(x.unsqueeze(1).double(), 2).flatten(1), self.coarse)  # (N, coarse)
            d = ((flat[c] - q.double().unsqueeze(1)) ** 2).sum(2)  # (N, coarse)
            order = torch.argsort(d, dim=1, stable=True)[:, :self.prefilter]
            return c.gather(1, order)
        return nearest(flat, q, min(self.prefilter, len(flat)))[1]

    def distances(self, x: torch.Tensor, chunk: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, prefilter) tangent distances to the candidates, and the candidates."""
        x = _as_images(x)
        out_d, out_c = [], []
        for s in range(0, len(x), chunk):
            q = x[s:s + chunk].double()
            c = self.candidates(q)  # (n, P)
            n, p = c.shape
            tq = tangent_vectors(q, self.sigma)  # (n, 7, D)
            qf = q.reshape(n, -1)
            d = two_sided(qf.repeat_interleave(p, 0), tq.repeat_interleave(p, 0),
                          self.train.reshape(len(self.train), -1)[c.flatten()], self.tangents[c.flatten()],
                          self.spring).view(n, p)
            out_d.append(d)
            out_c.append(c)
        return torch.cat(out_d), torch.cat(out_c)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        d, c = self.distances(x)
        order = torch.argsort(d, dim=1, stable=True)  # every candidate, nearest first: the first k vote
        return vote_scores(d.gather(1, order), self.labels[c.gather(1, order)], self.k)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.scores(x).argmax(1)


def _as_images(x: torch.Tensor) -> torch.Tensor:
    """(N, S*S) or (N, S, S) -> (N, S, S)."""
    if x.ndim == 2:
        side = int(round(x.shape[1] ** 0.5))
        if side * side != x.shape[1]:
            raise ConfigError(f"tangent distance needs square images, got {x.shape[1]} values per image")
        return x.reshape(len(x), side, side)
    if x.ndim != 3:
        raise ConfigError(f"tangent distance needs (N, S, S) or (N, S*S) images, got shape {tuple(x.shape)}")
    return x


def fit(x: torch.Tensor, y: torch.Tensor, k: int = 1, prefilter: int = 50, coarse: int = 500, sigma: float = 0.9,
        spring: float = 0.01) -> TangentDistance:
    """x: (N, 16, 16) or (N, 256) images in [0, 1]."""
    x = _as_images(x)
    if not 1 <= k <= prefilter:
        raise ConfigError(f"k must be between 1 and prefilter ({prefilter}), got {k}")
    x = x.double()
    return TangentDistance(x, y.long(), tangent_vectors(x, sigma), k, prefilter, coarse, sigma, spring)
