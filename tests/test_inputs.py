"""The alternative MNIST input versions (Sec. III-A): [deslant] moments, shear and crop, and the [16x16]
area-averaging reduction, against hand-computed cases and plain per-pixel references."""

import math
from fractions import Fraction

import pytest
import torch

from lenet1998.inputs import (centered_in_28, crop_to_ink, deslant, moments, resampling_matrix, shear_factor,
                              sheared_moments, to_16x16)
from lenet_repro.errors import ConfigError


def naive_moments(img, threshold=0.5):
    """(m00, xc, yc, mu20, mu11, mu02) by a loop over the foreground pixels (x = column, y = row)."""
    pts = [(x, y) for y in range(img.shape[0]) for x in range(img.shape[1]) if float(img[y, x]) > threshold]
    return point_moments(pts)


def point_moments(pts):
    n = len(pts)
    xc = sum(p[0] for p in pts) / n
    yc = sum(p[1] for p in pts) / n
    return (n, xc, yc, sum((x - xc) ** 2 for x, _ in pts), sum((x - xc) * (y - yc) for x, y in pts),
            sum((y - yc) ** 2 for _, y in pts))


def slanted_bar(slope, a, rows=range(4, 24)):
    """A one-pixel line x = a + slope * y, drawn with one foreground pixel per row in a 28x28 image."""
    img = torch.zeros(28, 28)
    for y in rows:
        img[y, round(a + slope * y)] = 1.0
    return img


def test_moments_of_a_hand_made_image():
    img = torch.zeros(4, 5)
    img[0, 0] = img[1, 1] = img[3, 2] = 1.0  # (x, y) = (0, 0), (1, 1), (2, 3)
    img[2, 4] = 0.4                          # below the threshold: background
    m = moments(img)
    # m00 = 3, xc = 1, yc = 4/3; dx = -1, 0, 1; dy = -4/3, -1/3, 5/3
    assert float(m.m00) == 3 and float(m.xc) == 1 and float(m.yc) == pytest.approx(4 / 3)
    assert float(m.mu20) == pytest.approx(2.0)
    assert float(m.mu11) == pytest.approx(4 / 3 + 5 / 3)
    assert float(m.mu02) == pytest.approx((16 + 1 + 25) / 9)
    assert float(shear_factor(m)) == pytest.approx(3 / (42 / 9))  # 9/14
    diag = moments(torch.eye(3))                                  # the 3-pixel diagonal: all 2, s = 1
    assert [float(v) for v in diag[3:]] == pytest.approx([2.0, 2.0, 2.0])
    assert float(shear_factor(diag)) == pytest.approx(1.0)


def test_uint8_threshold_is_half_the_maximum_grey_level():
    img = torch.zeros(2, 3, 3, dtype=torch.uint8)
    img[0, 1, 1], img[1, 1, 1] = 127, 128
    m = moments(img)
    assert m.m00.tolist() == [0.0, 1.0] and m.m00.shape == (2,)
    assert float(moments(img[0], threshold=0.0).m00) == 1.0  # threshold 0: any ink


def test_moments_and_shear_factor_match_per_pixel_loops_on_random_binary_images():
    g = torch.Generator().manual_seed(0)
    imgs = (torch.rand(6, 28, 28, generator=g) < 0.15).float()
    m = moments(imgs)
    s = shear_factor(m)
    for i in range(len(imgs)):
        n, xc, yc, mu20, mu11, mu02 = naive_moments(imgs[i])
        got = [float(v[i]) for v in m]
        assert got == pytest.approx([n, xc, yc, mu20, mu11, mu02], rel=1e-12, abs=1e-9)
        assert float(s[i]) == pytest.approx(mu11 / mu02, rel=1e-12)
        # shear every foreground pixel naively: x' = x - s (y - yc); mu11' must vanish
        pts = [(x - float(s[i]) * (y - yc), y) for y in range(28) for x in range(28) if imgs[i, y, x] > 0.5]
        _, _, _, mu20s, mu11s, mu02s = point_moments(pts)
        assert abs(mu11s) < 1e-9 * mu02
        formulas = sheared_moments(m, s)
        assert [float(v[i]) for v in formulas] == pytest.approx([mu20s, 0.0, mu02s], abs=1e-8)


def test_an_integer_slope_line_is_sheared_into_one_exact_column():
    img = slanted_bar(1.0, 2, rows=range(5, 24))  # x = y + 2, 19 rows: yc = 14, integer row shifts
    m = moments(img)
    assert float(shear_factor(m)) == 1.0 and float(m.yc) == 14.0
    out = deslant(img)
    assert out.shape == (20, 20) and out.dtype == torch.float32
    cols = out.sum(0)
    assert cols.max() == 19 and int((cols > 0).sum()) == 1  # all the ink in one column, each pixel exactly 1
    assert set(out.unique().tolist()) == {0.0, 1.0}


@pytest.mark.parametrize("slope,a", [(0.4, 8), (-0.35, 20), (0.25, 10)])
def test_a_slanted_bar_is_deslanted_to_a_vertical_line(slope, a):
    img = slanted_bar(slope, a)
    before = (img > 0.5).nonzero()[:, 1]
    assert int(before.max() - before.min()) >= 3
    assert float(shear_factor(moments(img))) == pytest.approx(slope, abs=0.02)
    out = deslant(img)
    after = moments(out)
    assert abs(float(after.mu11)) < 0.02 * float(after.mu02)
    fg = (out > 0.5).nonzero()[:, 1]
    assert len(fg) == 20 and int(fg.max() - fg.min()) <= 1  # the column spread is one pixel
    assert float(out.sum()) == pytest.approx(20.0, abs=1e-5)  # grey levels kept: ink only moved


def test_a_vertical_bar_is_not_sheared():
    img = torch.zeros(28, 28, dtype=torch.uint8)
    img[4:24, 13:15] = 200
    m = moments(img)
    assert float(shear_factor(m)) == 0.0
    expected = torch.zeros(20, 20)
    expected[:, 9:11] = 200 / 255  # the box rows 4..23 and cols 13..14 sit in the middle of the window
    assert torch.equal(deslant(img), expected)
    assert torch.equal(crop_to_ink(img), expected)


def naive_deslant(img, threshold=0.5, size=20):
    """Per pixel: s = mu11 / mu02 from the loop moments, the sheared ink box from each row's first and last
    ink pixel (grey > 0), the window centred on it, each output pixel interpolated linearly along its row."""
    h, w = img.shape
    _, _, yc, _, mu11, mu02 = naive_moments(img, threshold)
    s = mu11 / mu02
    ink_rows = [r for r in range(h) if any(float(img[r, c]) > 0 for c in range(w))]
    lefts, rights = [], []
    for r in ink_rows:
        cs = [c for c in range(w) if float(img[r, c]) > 0]
        lefts.append(cs[0] - s * (r - yc))
        rights.append(cs[-1] - s * (r - yc))
    cx, cy = (min(lefts) + max(rights)) / 2, (ink_rows[0] + ink_rows[-1]) / 2
    c0, r0 = math.floor(cx - 9.5 + 0.5), math.floor(cy - 9.5 + 0.5)  # the window centre nearest the box centre
    out = torch.zeros(size, size, dtype=torch.float64)
    for i in range(size):
        r = r0 + i
        if not 0 <= r < h:
            continue
        for j in range(size):
            x = c0 + j + s * (r - yc)
            lo = math.floor(x)
            a = x - lo
            left = float(img[r, lo]) if 0 <= lo < w else 0.0
            right = float(img[r, lo + 1]) if 0 <= lo + 1 < w else 0.0
            out[i, j] = (1 - a) * left + a * right
    return out


def test_deslant_matches_a_per_pixel_reference_on_random_blobs():
    g = torch.Generator().manual_seed(1)
    imgs = torch.zeros(4, 28, 28)
    for k in range(4):  # a slanted grey blob (a thick stroke with noise), well inside the image
        y = torch.arange(28, dtype=torch.float64).view(28, 1)
        x = torch.arange(28, dtype=torch.float64).view(1, 28)
        slope = float(torch.rand(1, generator=g)) - 0.5
        stroke = (x - 14 - slope * (y - 14)).abs() < 2.0
        noise = torch.rand(28, 28, generator=g, dtype=torch.float64)
        imgs[k] = (stroke & (y >= 6) & (y <= 22)).float() * noise.float()
    got = deslant(imgs)
    assert got.shape == (4, 20, 20) and got.dtype == torch.float32
    for k in range(4):
        assert torch.allclose(got[k].double(), naive_deslant(imgs[k]), atol=1e-6)


def test_blank_and_degenerate_images_give_no_nan():
    blank = torch.zeros(3, 28, 28, dtype=torch.uint8)
    m = moments(blank)
    assert all(not torch.isnan(v).any() for v in m) and m.m00.tolist() == [0, 0, 0]
    assert shear_factor(m).tolist() == [0.0, 0.0, 0.0]
    out = deslant(blank)
    assert out.shape == (3, 20, 20) and out.dtype == torch.float32 and torch.equal(out, torch.zeros(3, 20, 20))
    row = torch.zeros(28, 28)
    row[10, 5:20] = 1.0  # all the foreground on one row: mu02 = 0
    m = moments(row)
    assert float(m.mu02) == 0.0 and float(shear_factor(m)) == 0.0
    out = deslant(row)
    assert not torch.isnan(out).any() and float(out.sum()) == 15.0
    faint = torch.zeros(28, 28)
    faint[8:20, 12:15] = 0.3  # ink, but no foreground: no shear, still cropped
    assert float(shear_factor(moments(faint))) == 0.0
    assert float(deslant(faint).sum()) == pytest.approx(0.3 * 36, abs=1e-5)


def test_resampling_matrix_by_hand_and_by_overlap_loop():
    r = resampling_matrix()
    assert r.shape == (16, 20) and r.dtype == torch.float64
    assert torch.allclose(r.sum(1), torch.ones(16, dtype=torch.float64), atol=1e-15)
    assert torch.allclose(r.sum(0), torch.full((20,), 0.8, dtype=torch.float64), atol=1e-15)
    # output cell 0 = [0, 1.25]: 1 of pixel 0, 0.25 of pixel 1; cell 1 = [1.25, 2.5]: 0.75 of pixel 1, 0.5 of 2
    assert r[0, :3].tolist() == pytest.approx([0.8, 0.2, 0.0]) and r[1, :4].tolist() == pytest.approx([0, 0.6, 0.4, 0])
    assert int((r[0] > 0).sum()) == 2 and float(r[0, 2:].abs().sum()) == 0.0
    g = torch.Generator().manual_seed(2)
    x = torch.rand(20, 20, generator=g, dtype=torch.float64)
    fast = r @ x @ r.T
    f = Fraction(20, 16)
    naive = torch.zeros(16, 16, dtype=torch.float64)
    for i in range(16):
        for j in range(16):
            acc = 0.0
            for p in range(20):
                oy = max(0, min((i + 1) * f, p + 1) - max(i * f, p))
                if oy == 0:
                    continue
                for q in range(20):
                    ox = max(0, min((j + 1) * f, q + 1) - max(j * f, q))
                    acc += float(oy * ox / (f * f)) * float(x[p, q])  # overlap area / output-cell area
            naive[i, j] = acc
    assert torch.allclose(fast, naive, atol=1e-12)
    assert float(fast.mean()) == pytest.approx(float(x.mean()), rel=1e-12)         # mean kept
    assert float(fast.sum()) == pytest.approx(float(x.sum()) * (16 / 20) ** 2, rel=1e-12)
    const = torch.full((20, 20), 0.37, dtype=torch.float64)
    assert torch.allclose(r @ const @ r.T, torch.full((16, 16), 0.37, dtype=torch.float64), atol=1e-15)


def test_to_16x16_reduces_the_20x20_ink_box():
    img = torch.zeros(2, 28, 28, dtype=torch.uint8)
    img[0, 4:24, 3:23] = 255       # a full 20x20 box, off centre: found, then reduced to all ones
    img[1, 6:22, 10:14] = 255      # a 16x4 bar
    out = to_16x16(img)
    assert out.shape == (2, 16, 16) and out.dtype == torch.float32
    assert torch.allclose(out[0], torch.ones(16, 16), atol=1e-6)
    assert float(out[1].sum()) == pytest.approx(16 * 4 * 0.64, abs=1e-4)
    assert float(out.max()) <= 1.0 and float(out.min()) >= 0.0
    assert to_16x16(img[1]).shape == (16, 16)


def test_centered_in_28_puts_the_image_at_rows_and_cols_6_to_21():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(2, 16, 16, generator=g) + 0.5  # no zeros inside
    out = centered_in_28(x)
    assert out.shape == (2, 28, 28) and out.dtype == x.dtype
    assert torch.equal(out[:, 6:22, 6:22], x)
    nz = out[0].nonzero()
    assert nz[:, 0].min() == 6 and nz[:, 0].max() == 21 and nz[:, 1].min() == 6 and nz[:, 1].max() == 21
    assert float(out.sum()) == pytest.approx(float(x.sum()))
    assert centered_in_28(x[0].to(torch.uint8)).shape == (28, 28)


@pytest.mark.parametrize("call", [
    lambda: moments(torch.zeros(28)),                                  # 1-D
    lambda: moments(torch.zeros(1, 1, 28, 28)),                        # 4-D
    lambda: moments(torch.zeros(28, 28, dtype=torch.int32)),          # not uint8 nor float
    lambda: moments(torch.full((28, 28), 2.0)),                        # float outside [0, 1]
    lambda: moments(torch.full((28, 28), float("nan"))),
    lambda: moments(torch.zeros(28, 28), threshold=1.5),
    lambda: moments([[0, 1]]),                                         # not a tensor
    lambda: deslant(torch.zeros(5, 10, 10)),                           # smaller than the crop
    lambda: deslant(torch.zeros(5, 28, 28), size=0),
    lambda: deslant(torch.zeros(28)),
    lambda: crop_to_ink(torch.zeros(5, 28, 19)),
    lambda: to_16x16(torch.zeros(2, 3, 28, 28)),
    lambda: centered_in_28(torch.zeros(2, 20, 20)),
    lambda: centered_in_28(torch.zeros(16)),
    lambda: resampling_matrix(0, 16),
])
def test_bad_inputs_raise_a_one_line_config_error(call):
    with pytest.raises(ConfigError) as err:
        call()
    assert "\n" not in str(err.value) and str(err.value)


@pytest.mark.data
def test_deslant_straightens_real_mnist_digits():
    from lenet_repro import datasets

    x, _ = datasets.load("mnist", "train", check_hash=False)  # the sha256 of 47 MB would be most of the time
    x = x[:100]
    before = shear_factor(moments(x)).abs().mean()
    out = deslant(x)
    assert out.shape == (100, 20, 20) and out.dtype == torch.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    after = shear_factor(moments(out)).abs().mean()
    assert float(before) > 0.1 and float(after) < 0.25 * float(before)
    box = crop_to_ink(x)  # the 20x20 box holds all of each digit's ink
    assert torch.allclose(box.double().sum((1, 2)), x.double().sum((1, 2)) / 255, atol=1e-3)
    small = to_16x16(x)
    assert torch.allclose(small.double().mean((1, 2)), box.double().mean((1, 2)), atol=1e-6)
