"""Each hand-written piece of the 1998 network against a naive reference written plainly here.

Tolerances: float64 everywhere in these tests, compared to 1e-10 relative unless stated.
"""

import itertools
import math

import pytest
import torch

from lenet1998 import PAPER_CONNECTIONS, PAPER_COUNTS, PAPER_PARAMETERS, LeNet5, LeNet5Config
from lenet1998.bitmaps import DIGITS, min_hamming_distance, prototypes
from lenet1998.connection_table import TABLE_I, as_grid, connections
from lenet1998.initialization import fan_ins
from lenet1998.loss import loss_fn, map_loss, mle_loss
from lenet1998.preprocessing import BACKGROUND, INK, to_input
from lenet1998.rbf import EuclideanRBF
from lenet1998.squashing import scaled_tanh, scaled_tanh_derivative
from lenet1998.subsampling import Subsampling
from lenet1998.table_conv import TableConv2d
from lenet_repro.errors import ConfigError

@pytest.fixture(autouse=True, scope="module")
def _float64(float64_default):
    yield


# ---- the paper's counts ---------------------------------------------------------------------------

def test_paper_counts_per_layer_and_total():
    m = LeNet5()
    assert m.layer_counts() == PAPER_COUNTS
    assert [p for p, _ in PAPER_COUNTS.values()] == [156, 12, 1516, 32, 48120, 10164, 0]
    assert m.num_parameters() == PAPER_PARAMETERS == 60_000
    assert sum(c for _, c in m.layer_counts().values()) == PAPER_CONNECTIONS == 340_908


def test_counts_change_with_the_ablations():
    assert LeNet5(LeNet5Config(c3_table="dense")).layer_counts()["C3"] == (96 * 25 + 16, 100 * (96 * 25 + 16))
    assert LeNet5(LeNet5Config(subsampling="maxpool")).num_parameters() == 60_000 - 12 - 32
    assert LeNet5(LeNet5Config(output="linear", loss="cross_entropy")).num_parameters() == 60_850


def test_table_one():
    assert len(connections("paper")) == 60
    assert [len(t) for t in TABLE_I] == [3] * 6 + [4] * 9 + [6]
    # the paper's drawing: row 0 (S2 map 0) is read by C3 maps 0, 4, 5, 6, 9, 10, 11, 12, 14, 15
    assert as_grid()[0] == "X . . . X X X . . X X X X . X X"


# ---- C3 through the connection table ---------------------------------------------------------------

def test_c3_equals_explicit_per_map_sums():
    torch.manual_seed(0)
    c3 = TableConv2d(table="paper")
    with torch.no_grad():
        c3.weight.normal_()
        c3.bias.normal_()
    x = torch.randn(2, 6, 14, 14)
    out = c3(x)
    naive = torch.zeros(2, 16, 10, 10)
    for k, (o, i) in enumerate(connections("paper")):
        w = c3.weight[k]
        for r, c in itertools.product(range(10), range(10)):
            naive[:, o, r, c] += (x[:, i, r:r + 5, c:c + 5] * w).sum((-1, -2))
    naive += c3.bias.view(1, -1, 1, 1)
    assert torch.allclose(out, naive, rtol=1e-10, atol=1e-10)


def test_c3_unconnected_inputs_have_no_influence():
    c3 = TableConv2d(table="paper")
    with torch.no_grad():
        c3.weight.normal_()
    x = torch.randn(1, 6, 14, 14)
    y0 = c3(x)
    x2 = x.clone()
    x2[:, 1] += 5.0  # S2 map 1 is not read by C3 maps 2, 3, 4, 8, 9, 14
    changed = (c3(x2) - y0).abs().sum((0, 2, 3)) > 0
    assert changed.tolist() == [1 in TABLE_I[o] for o in range(16)]


# ---- subsampling -----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["sum", "average", "avgpool", "maxpool"])
def test_subsampling_equals_loops(mode):
    torch.manual_seed(1)
    s = Subsampling(3, mode)
    if s.has_params:
        with torch.no_grad():
            s.coef.normal_()
            s.bias.normal_()
    x = torch.randn(2, 3, 6, 6)
    out = s(x)
    naive = torch.zeros(2, 3, 3, 3)
    for b, m, i, j in itertools.product(range(2), range(3), range(3), range(3)):
        win = [x[b, m, 2 * i + di, 2 * j + dj] for di in (0, 1) for dj in (0, 1)]
        v = {"sum": sum(win), "average": sum(win) / 4, "avgpool": sum(win) / 4, "maxpool": max(win)}[mode]
        naive[b, m, i, j] = s.coef[m] * v + s.bias[m] if s.has_params else v
    assert torch.allclose(out, naive, rtol=1e-12, atol=1e-12)
    assert s.squashed == (mode in ("sum", "average"))


def test_subsampling_has_one_coefficient_and_bias_per_map():
    assert sum(p.numel() for p in Subsampling(6, "sum").parameters()) == 12
    with pytest.raises(ConfigError, match="unknown subsampling 'median'"):
        Subsampling(6, "median")


# ---- squashing, input, RBF ---------------------------------------------------------------------------

def test_scaled_tanh():
    a = torch.tensor([-1.0, 0.0, 1.0, 3.0])
    assert torch.allclose(scaled_tanh(a)[[0, 2]], torch.tensor([-1.0, 1.0]), atol=1e-4)  # f(+-1) = +-1
    assert math.isclose(float(scaled_tanh(torch.tensor(100.0))), 1.7159)
    a = torch.linspace(-4, 4, 41, requires_grad=True)
    (g,) = torch.autograd.grad(scaled_tanh(a).sum(), a)
    assert torch.allclose(scaled_tanh_derivative(a.detach()), g)


def test_input_is_padded_and_scaled():
    img = torch.zeros(1, 28, 28, dtype=torch.uint8)
    img[0, 10, 10] = 255
    x = to_input(img)
    assert x.shape == (1, 1, 32, 32) and x.dtype == torch.float32
    assert math.isclose(float(x[0, 0, 12, 12]), INK, rel_tol=1e-6)
    assert math.isclose(float(x[0, 0, 0, 0]), BACKGROUND, rel_tol=1e-6)  # the padding is background
    assert math.isclose(float(x[0, 0, 16, 16]), BACKGROUND, rel_tol=1e-6)


def test_rbf_penalties_equal_naive_sums():
    rbf = EuclideanRBF()
    x = torch.randn(3, 84)
    y = rbf(x)
    w = prototypes()
    for b, i in itertools.product(range(3), range(10)):
        assert math.isclose(float(y[b, i]), sum((float(x[b, k]) - float(w[i, k])) ** 2 for k in range(84)),
                            rel_tol=1e-12)
    assert not any(p.requires_grad for p in rbf.parameters())  # fixed
    assert EuclideanRBF(trainable=True).centers.requires_grad


def test_bitmaps_are_7x12_plus_minus_one_and_well_separated():
    for d, rows in DIGITS.items():
        assert len(rows) == 12 and all(len(r) == 7 and set(r) <= {"#", "."} for r in rows), d
    p = prototypes()
    assert p.shape == (10, 84) and set(p.unique().tolist()) == {-1.0, 1.0}
    dist, pair = min_hamming_distance()
    print(f"minimum Hamming distance between RBF bitmaps: {dist} pixels (digits {pair})")
    assert dist >= 12  # squared Euclidean distance >= 48 between any two prototypes
    assert len({tuple(r) for r in p.tolist()}) == 10


# ---- losses ------------------------------------------------------------------------------------------

def test_map_loss_and_gradient_match_the_formula():
    torch.manual_seed(2)
    y = (torch.rand(4, 10) * 20).requires_grad_()
    t = torch.tensor([3, 0, 9, 5])
    j = 1.5
    loss = map_loss(y, t, j)
    yv, tv = y.detach().tolist(), t.tolist()
    naive = sum(yv[p][tv[p]] + math.log(math.exp(-j) + sum(math.exp(-v) for v in yv[p])) for p in range(4)) / 4
    assert math.isclose(loss.item(), naive, rel_tol=1e-12)
    (g,) = torch.autograd.grad(loss, y)
    for p, i in itertools.product(range(4), range(10)):
        z = math.exp(-j) + sum(math.exp(-v) for v in yv[p])
        expect = (float(i == tv[p]) - math.exp(-yv[p][i]) / z) / 4  # dE/dy_i = [i = D] - e^-y_i / Z
        assert math.isclose(float(g[p, i]), expect, rel_tol=1e-9, abs_tol=1e-15)


def test_map_loss_is_stable_for_large_penalties():
    y = torch.full((1, 10), 1e4)
    assert torch.isfinite(map_loss(y, torch.tensor([0]), 0.1))


def test_mle_loss():
    y = torch.arange(20.0).view(2, 10)
    assert float(mle_loss(y, torch.tensor([1, 2]))) == (1 + 12) / 2


def test_losses_by_name():
    y, t = torch.arange(20.0).view(2, 10), torch.tensor([1, 2])
    assert float(loss_fn("mle")(y, t)) == float(mle_loss(y, t))
    assert float(loss_fn("map", 3.0)(y, t)) == float(map_loss(y, t, 3.0))  # j reaches Eq. 9
    with pytest.raises(ConfigError, match="unknown loss 'hinge'; use mle, map, cross_entropy"):
        loss_fn("hinge")


def test_prediction_is_the_smallest_penalty():
    m = LeNet5()
    x = torch.randn(5, 1, 32, 32)
    assert torch.equal(m.predict(x), m(x).argmin(1))


# ---- initialisation (Appendix A) ---------------------------------------------------------------------

@pytest.mark.parametrize("init, power", [("lecun", 1.0), ("lecun-sqrt", 0.5)])
def test_lecun_init_respects_each_units_fan_in(init, power):
    m = LeNet5(LeNet5Config(init=init), generator=torch.Generator().manual_seed(3))
    fans = fan_ins(m)
    for name, p in m.named_parameters():
        bound = 2.4 / torch.as_tensor(fans[name]) ** power  # App. A: 2.4 / F_i (literal) or 2.4 / sqrt(F_i)
        assert (p.detach().abs() <= bound + 1e-12).all(), name
        assert (p.detach().abs() > 0.5 * bound).any(), name  # actually spread over the range
    # C3: maps reading 3, 4 and 6 S2 maps have fan-ins 75, 100 and 150
    assert fans["C3.bias"].tolist() == [75.0] * 6 + [100.0] * 9 + [150.0]


def test_init_is_reproducible_from_the_seed_and_options_apply():
    a = LeNet5(generator=torch.Generator().manual_seed(4)).get_flat()
    b = LeNet5(generator=torch.Generator().manual_seed(4)).get_flat()
    assert torch.equal(a, b)
    z = LeNet5(LeNet5Config(bias_init="zero", subsampling_coef_init=0.5))
    assert float(z.C1.bias.detach().abs().sum()) == 0 and z.S2.coef.eq(0.5).all()
    s = LeNet5(LeNet5Config(init="lecun"), generator=torch.Generator().manual_seed(4))
    assert float(s.C5.weight.detach().abs().max()) <= 2.4 / 400  # literal: 0.006 (2.4 / sqrt(400) = 0.12)


def test_bad_config_values_are_one_line_errors():
    with pytest.raises(ConfigError, match="subsampling='median' is not one of"):
        LeNet5Config(subsampling="median").validated()
    with pytest.raises(ConfigError, match="needs loss=cross_entropy"):
        LeNet5Config(output="linear").validated()
    with pytest.raises(ConfigError, match="map_j must be positive"):
        LeNet5Config(map_j=0).validated()
    with pytest.raises(ConfigError, match="unknown LeNet-5 config keys"):
        LeNet5Config.from_dict({"learning_rate": 1})
