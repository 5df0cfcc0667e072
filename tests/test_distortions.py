"""Distortions (Sec. III-C): the affine warp against a plain per-pixel implementation, the ranges,
and the 600,000-pattern pool."""

import math

import pytest
import torch

from lenet1998.config import FAITHFUL
from lenet1998.distortions import DistortedPool, distortion_parameters, warp


def naive_warp(img: torch.Tensor, tx, ty, s, q, h) -> torch.Tensor:
    """Per output pixel: invert x' = sx (x + h y) + tx, y' = sy y + ty (pixel units, origin at the image
    centre, pixel centres at +-0.5), then bilinear interpolation with zeros outside the image."""
    n = img.shape[-1]
    sx, sy = s * (1 - q), s * (1 + q)
    out = torch.zeros_like(img, dtype=torch.float64)
    c = n / 2

    def at(r, col):
        return float(img[r, col]) if 0 <= r < n and 0 <= col < n else 0.0

    for i in range(n):
        for j in range(n):
            xo, yo = j + 0.5 - c, i + 0.5 - c
            y = (yo - ty) / sy
            x = (xo - tx) / sx - h * y
            col, row = x + c - 0.5, y + c - 0.5
            c0, r0 = math.floor(col), math.floor(row)
            a, b = col - c0, row - r0
            out[i, j] = ((1 - a) * (1 - b) * at(r0, c0) + a * (1 - b) * at(r0, c0 + 1)
                         + (1 - a) * b * at(r0 + 1, c0) + a * b * at(r0 + 1, c0 + 1))
    return out


def test_warp_matches_a_per_pixel_affine_map():
    g = torch.Generator().manual_seed(0)
    img = torch.rand(28, 28, generator=g)
    for p in [(0.7, -1.3, 1.08, 0.06, 0.12), (-2.0, 0.4, 0.93, -0.09, -0.15), (0.0, 0.0, 1.0, 0.0, 0.0)]:
        got = warp(img[None], torch.tensor([p], dtype=torch.float64))[0]
        ref = naive_warp(img, *p)
        assert torch.allclose(got.double(), ref, atol=1e-7), p  # float64 both; float32 output rounding


def test_identity_and_integer_translation_are_exact():
    img = torch.zeros(1, 28, 28)
    img[0, 10:18, 12:15] = 1.0
    same = warp(img, torch.tensor([[0.0, 0.0, 1.0, 0.0, 0.0]], dtype=torch.float64))
    assert torch.allclose(same, img, atol=1e-6)
    moved = warp(img, torch.tensor([[1.0, 2.0, 1.0, 0.0, 0.0]], dtype=torch.float64))  # right 1, down 2
    assert torch.allclose(moved[0, 12:20, 13:16], torch.ones(8, 3), atol=1e-5)
    assert float(moved.sum()) == pytest.approx(float(img.sum()), abs=1e-4)


def test_squeeze_compresses_horizontally_and_elongates_vertically():
    img = torch.zeros(1, 28, 28)
    img[0, 8:20, 8:20] = 1.0
    sq = warp(img, torch.tensor([[0.0, 0.0, 1.0, 0.2, 0.0]], dtype=torch.float64))[0]
    cols = (sq > 0.5).any(0).sum()
    rows = (sq > 0.5).any(1).sum()
    assert cols < 12 < rows


def test_parameters_stay_inside_the_configured_ranges_and_follow_the_seed():
    cfg = FAITHFUL.replace(distortions=True)
    p = distortion_parameters(cfg, seed=3, n=5000)  # (9, 5000, 5)
    assert p.shape == (cfg.distortion_copies, 5000, 5)
    lim = torch.tensor([cfg.translate_px, cfg.translate_px, cfg.scale_range, cfg.squeeze_range, cfg.shear_range],
                       dtype=torch.float64)
    centre = torch.tensor([0, 0, 1, 0, 0], dtype=torch.float64)
    dev = (p - centre).abs().amax(dim=(0, 1))
    assert bool((dev <= lim).all()) and bool((dev > 0.95 * lim).all())  # the whole range is used
    assert torch.equal(p, distortion_parameters(cfg, seed=3, n=5000))
    assert not torch.equal(p, distortion_parameters(cfg, seed=4, n=5000))


def test_the_pool_is_the_originals_plus_nine_copies_walked_once_per_ten_passes():
    n = 50
    g = torch.Generator().manual_seed(1)
    images = (torch.rand(n, 28, 28, generator=g) * 255).to(torch.uint8)
    labels = torch.arange(n) % 10
    pool = DistortedPool(FAITHFUL.replace(distortions=True), 0, images, labels)
    assert pool.size == 10 * n
    idx = torch.cat([pool.pass_indices(k) for k in range(10)])
    assert torch.equal(idx.sort().values, torch.arange(10 * n))  # every pattern once per 10 passes
    assert torch.equal(pool.pass_indices(10), pool.pass_indices(0))  # the second cycle repeats the order
    x, y = pool.patterns(torch.arange(10 * n))
    assert torch.equal(y, labels.repeat(10))
    assert torch.equal(x[:n], images.float() / 255.0)  # copy 0 = the untouched originals
    assert not torch.allclose(x[n:2 * n], x[:n])
