"""The layered networks of Fig. 9 (lenet1998/comparison/convnets.py): their sizes against the paper's
and [35]'s printed counts, their connection tables, their initialisation (an MLP Net starts from
mlp.build's parameters), and the configuration errors of lenet1998/fast/layered.py's Net."""

from __future__ import annotations

import pytest
import torch

from lenet1998.comparison import convnets as cn
from lenet1998.comparison import mlp
from lenet1998.connection_table import TABLE_I
from lenet1998.fast.layered import Net, conv, full, sub
from lenet_repro.errors import ConfigError


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.mark.parametrize("sizes,params", [((784, 300, 10), 238_510), ((784, 1000, 10), 795_010),
                                          ((784, 300, 100, 10), 266_610), ((784, 500, 150, 10), 469_160),
                                          ((400, 300, 10), 123_310)])
def test_mlp_sizes(sizes, params):
    net = cn.mlp_net(sizes)
    m = mlp.build(sizes, torch.Generator().manual_seed(0))
    assert net.param_count == params == m.parameters
    assert net.connections == m.multiply_adds == params  # one connection per weight and per bias
    assert net.n_outputs == 10 and net.input_size == sizes[0]


def test_lenet1_has_the_counts_printed_in_ref_35():
    net = cn.lenet1()
    assert net.param_count == 2_578
    assert net.connections == 98_442
    assert [p.out_shape for p in net.placed] == [(4, 24, 24), (4, 12, 12), (12, 8, 8), (12, 4, 4), (10, 1, 1)]
    table = net.placed[2].pairs
    assert len(table) == 20
    reads = {o: sorted(i for oo, i in table if oo == o) for o in range(12)}
    assert [reads[o] for o in range(4)] == [[0], [1], [2], [3]]
    assert [reads[o] for o in range(4, 8)] == [[0, 1], [1, 2], [2, 3], [0, 3]]
    assert [reads[o] for o in range(8, 12)] == [[0, 2], [1, 3], [0, 2], [1, 3]]


def test_lenet4_counts_and_the_papers_parameter_contradiction():
    net = cn.lenet4()
    assert [p.out_shape for p in net.placed] == [(4, 28, 28), (8, 14, 14), (16, 10, 10), (16, 5, 5),
                                                (120, 1, 1), (10, 1, 1)]
    assert net.connections == 262_306  # the paper: "about 260,000"
    assert net.param_count == 50_698  # the paper: "about 17,000", below F5's own 120 x 401
    assert net.placed[4].end - net.placed[4].w_offset == 48_120
    assert [s for _, s in net.placed[1].pairs] == [0, 0, 1, 1, 2, 2, 3, 3]  # "connected in pairs"
    c3 = net.placed[2].pairs
    assert len(c3) == 48
    assert all(sorted(i for o, i in c3 if o == j) == sorted({j % 8, (j + 1) % 8, (j + 2) % 8}) for j in range(16))
    assert "17,000" in cn.lenet4.__doc__ and "50,698" in cn.lenet4.__doc__


def test_connections_count_the_bias_as_the_paper_counts_lenet5s():
    """Sec. II-B: C1 has 122,304 connections (28 x 28 x 6 x (25 + 1)); S2 5,880; C3 (Table I) 151,600."""
    table_i = [(o, i) for o, ins in enumerate(TABLE_I) for i in ins]
    assert len(table_i) == 60
    assert Net([conv(6, 5)], (1, 32, 32)).connections == 122_304
    assert Net([conv(6, 5), sub()], (1, 32, 32)).connections == 122_304 + 5_880
    c3 = Net([conv(6, 5), sub(), conv(16, 5, table_i)], (1, 32, 32))
    assert c3.connections == 122_304 + 5_880 + 151_600
    assert c3.param_count == 156 + 12 + 1_516  # Sec. II-B: C1 156, S2 12, C3 1,516 trainable parameters


@pytest.mark.parametrize("sizes", cn.MLP_SIZES)
def test_an_mlp_net_starts_from_mlp_builds_parameters(sizes):
    for seed in (0, 3):
        m = mlp.build(sizes, torch.Generator().manual_seed(seed))
        p = cn.init_params(cn.mlp_net(sizes), torch.Generator().manual_seed(seed))
        assert p.dtype == torch.float32
        assert torch.equal(p, m.flat())


def test_init_bounds_follow_each_units_fan_in():
    net = cn.lenet1()
    fan = net.fan_ins
    h1, h2, h3, _, out = net.placed
    assert set(fan[h1.w_offset:h1.end].tolist()) == {25}
    assert set(fan[h2.w_offset:h2.end].tolist()) == {4}
    assert fan[h3.w_offset:h3.b_offset].tolist() == [25 * (1 if o < 4 else 2) for o, _ in h3.pairs for _ in range(25)]
    assert fan[h3.b_offset:h3.end].tolist() == [25] * 4 + [50] * 8
    assert set(fan[out.w_offset:out.end].tolist()) == {192}
    p = cn.init_params(net, torch.Generator().manual_seed(0))
    bound = 2.4 / fan.double().sqrt()
    assert bool((p.double().abs() <= bound).all())
    assert float((p.double().abs() / bound).max()) > 0.9  # the whole interval is drawn
    assert torch.equal(p, cn.init_params(net, torch.Generator().manual_seed(0)))


def test_the_reference_forward_is_a_squashed_correlation():
    """A one-layer conv net's reference output is torch's conv2d of the input, squashed."""
    net = Net([conv(2, 3, [(0, 0), (1, 0)]), sub(), full(10)], (1, 6, 6))
    p = cn.init_params(net, torch.Generator().manual_seed(1))
    x = torch.rand(3, 1, 6, 6, generator=torch.Generator().manual_seed(2))
    a, _ = cn.trace(net, p, x)[0]
    w = p[:18].reshape(2, 1, 3, 3)
    torch.testing.assert_close(a, torch.nn.functional.conv2d(x, w, p[18:20]))
    out = cn.forward(net, p, x)
    assert out.shape == (3, 10) and float(out.abs().max()) < 1.7159
    assert cn.loss(out, torch.tensor([0, 1, 2])).shape == (3,)


@pytest.mark.parametrize("layers,shape", [
    ([sub()], (1, 5, 6)),                                    # odd map size
    ([conv(4, 7)], (1, 6, 6)),                               # kernel larger than the map
    ([conv(2, 3, [(0, 0), (0, 1)])], (1, 6, 6)),             # input map 1 does not exist
    ([conv(2, 3, [(0, 0), (0, 0), (1, 0)])], (1, 6, 6)),     # repeated pair
    ([conv(3, 3, [(0, 0), (1, 0)])], (1, 6, 6)),             # output map 2 reads nothing
    ([sub([0, 2])], (2, 4, 4)),                              # source map 2 does not exist
    ([full(0)], (10,)),
    ([full(1)], (10,)),                                      # a single output
    ([full(4)] * 9, (10,)),                                  # too many layers
    ([full(10)], (0,)),
    ([full(10)], (1, 2)),
])
def test_inconsistent_nets_raise_config_error(layers, shape):
    with pytest.raises(ConfigError):
        Net(layers, shape)


def test_mlp_net_rejects_sizes_mlp_build_rejects():
    with pytest.raises(ConfigError):
        cn.mlp_net((784, 300, 9))
    with pytest.raises(ConfigError):
        cn.mlp_net((784,))
