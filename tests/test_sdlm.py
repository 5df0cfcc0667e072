"""SDLM (Appendix C) against direct computations written plainly here.

The network is unrolled into explicit connection lists (output unit, input unit, weight index),
one per layer, exactly as Sec. II-B and Table I describe it. On that unrolled graph:
- the forward pass is a sum over connections;
- the Gauss-Newton diagonal is computed connection by connection (Eq. 25-27):
    d2E/da_i^2 = f'(a_i)^2 sum_k w_ki^2 d2E/da_k^2,  h_w = sum over connections sharing w of x_j^2 d2E/da_i^2;
- one SDLM step is checked against central finite differences.
Tolerance: float64, 1e-9 relative (1e-4 against central differences with h = 1e-5).
"""

import itertools

import pytest
import torch

from lenet1998 import LeNet5, LeNet5Config
from lenet1998.connection_table import connections
from lenet1998.loss import loss_fn
from lenet1998.sdlm import effective_rates, flat_hkk, gauss_newton_diagonal, sdlm_step


@pytest.fixture(autouse=True, scope="module")
def _float64(float64_default):
    yield


def _conv_connections(in_maps_of, n_out_maps, in_hw, k, w_base_of):
    out_hw = in_hw - k + 1
    rows = []
    for o in range(n_out_maps):
        for c_idx, i in in_maps_of(o):
            for r, c, ki, kj in itertools.product(range(out_hw), range(out_hw), range(k), range(k)):
                rows.append((o * out_hw * out_hw + r * out_hw + c, i * in_hw * in_hw + (r + ki) * in_hw + c + kj,
                             w_base_of(c_idx) + ki * k + kj))
    return torch.tensor(rows).T  # (3, n_connections)


def _sub_connections(maps, in_hw):
    h = in_hw // 2
    rows = [(m * h * h + i * h + j, m * in_hw * in_hw + (2 * i + di) * in_hw + 2 * j + dj, m)
            for m, i, j, di, dj in itertools.product(range(maps), range(h), range(h), (0, 1), (0, 1))]
    return torch.tensor(rows).T


def _full_connections(n_out, n_in):
    o, i = torch.meshgrid(torch.arange(n_out), torch.arange(n_in), indexing="ij")
    return torch.stack([o.flatten(), i.flatten(), (o * n_in + i).flatten()])


def unrolled(model: LeNet5):
    """[(name, connections, weights, biases, bias index of each output unit, input scale)] for C1 ... F6."""
    pairs = connections(model.config.c3_table)
    scale = 0.25 if model.config.subsampling == "average" else 1.0  # an averaging unit weighs inputs by 1/4
    per_map = lambda maps, units: torch.arange(maps).repeat_interleave(units)  # noqa: E731
    return [
        ("C1", _conv_connections(lambda o: [(o, 0)], 6, 32, 5, lambda c: 25 * c),
         model.C1.weight.flatten(), model.C1.bias, per_map(6, 784), 1.0),
        ("S2", _sub_connections(6, 28), model.S2.coef, model.S2.bias, per_map(6, 196), scale),
        ("C3", _conv_connections(lambda o: [(c, i) for c, (oo, i) in enumerate(pairs) if oo == o], 16, 14, 5,
                                 lambda c: 25 * c), model.C3.weight.flatten(), model.C3.bias, per_map(16, 100), 1.0),
        ("S4", _sub_connections(16, 10), model.S4.coef, model.S4.bias, per_map(16, 25), scale),
        ("C5", _full_connections(120, 400), model.C5.weight.flatten(), model.C5.bias, torch.arange(120), 1.0),
        ("F6", _full_connections(84, 120), model.F6.weight.flatten(), model.F6.bias, torch.arange(84), 1.0),
    ]


def naive_forward_and_hkk(model: LeNet5, x: torch.Tensor):
    """One pattern: forward over the connection lists, then the second-derivative backward."""
    f, fp = model.squash, model.squash.derivative
    layers = unrolled(model)
    xs, acts = [x.flatten()], []
    with torch.no_grad():
        for name, (out, inp, w), W, b, bias_of, s in layers:
            a = torch.zeros(len(bias_of)).index_add_(0, out, s * W[w] * xs[-1][inp]) + b[bias_of]
            acts.append(a)
            xs.append(f(a))
        penalties = ((xs[-1].unsqueeze(0) - model.output.centers) ** 2).sum(1)
        h = {}
        d2x = torch.full((84,), model.config.hkk_output_curvature)  # d2E/dx^2 at the F6 outputs
        for (name, (out, inp, w), W, b, bias_of, s), a, x_in in zip(reversed(layers), reversed(acts),
                                                                     reversed(xs[:-1])):
            d2a = fp(a) ** 2 * d2x  # d2E/da_i^2 = f'(a_i)^2 d2E/dx_i^2
            weight = "coef" if name in ("S2", "S4") else "weight"
            # every connection (i, j) of weight w contributes (d a_i / d w)^2 d2E/da_i^2 = (s x_j)^2 d2E/da_i^2
            h[f"{name}.{weight}"] = torch.zeros_like(W).index_add_(0, w, (s * x_in[inp]) ** 2 * d2a[out])
            if weight == "coef" and model.config.subsampling_curvature == "square-of-sum":
                # Lush's reading: the coefficient sees one input per unit, its window's (scaled) sum
                window = torch.zeros(len(bias_of)).index_add_(0, out, s * x_in[inp])
                h[f"{name}.coef"] = torch.zeros_like(W).index_add_(0, bias_of, window ** 2 * d2a)
            h[f"{name}.bias"] = torch.zeros_like(b).index_add_(0, bias_of, d2a)
            # d2E/dx_j^2 = sum over its connections of (d a_i / d x_j)^2 d2E/da_i^2
            d2x = torch.zeros_like(x_in).index_add_(0, inp, (s * W[w]) ** 2 * d2a[out])
    return penalties, h


@pytest.mark.parametrize("curvature", ["squares", "square-of-sum"])
@pytest.mark.parametrize("subsampling", ["sum", "average"])
def test_reference_hkk_equals_the_unrolled_per_connection_computation(subsampling, curvature):
    cfg = LeNet5Config(subsampling=subsampling, init="lecun-sqrt", subsampling_curvature=curvature)
    model = LeNet5(cfg, generator=torch.Generator().manual_seed(0)).double()
    x = torch.rand(3, 1, 32, 32) * 1.275 - 0.1
    labels = torch.tensor([1, 7, 3])
    ref = gauss_newton_diagonal(model, x, labels)
    total = None
    for p in range(3):
        pen, h = naive_forward_and_hkk(model, x[p])
        assert torch.allclose(pen, model(x[p:p + 1])[0], rtol=1e-10)  # forward oracle too
        total = h if total is None else {k: total[k] + h[k] for k in h}
    for name, p in model.named_parameters():
        naive = (total[name] / 3).view_as(p)
        assert torch.allclose(ref[name], naive, rtol=1e-9, atol=1e-15), name


def test_hkk_is_not_the_squared_gradient():
    model = LeNet5(LeNet5Config(init="lecun-sqrt"), generator=torch.Generator().manual_seed(1)).double()
    x = torch.rand(1, 1, 32, 32)
    y = torch.tensor([4])
    h = flat_hkk(model, x, y).double()
    model.zero_grad()
    loss_fn("map", 1.0)(model(x), y).backward()
    g2 = torch.cat([p.grad.flatten() for p in model.parameters()]) ** 2
    assert not torch.allclose(h, g2, rtol=0.1)
    # the F6 bias curvature is exactly f'(a6)^2 * 2 (Gauss-Newton of y_D)
    a6 = model.trace(x).a6[0]
    assert torch.allclose(gauss_newton_diagonal(model, x, y)["F6.bias"], model.squash.derivative(a6) ** 2 * 2)


def test_one_sdlm_step_against_finite_differences():
    cfg = LeNet5Config(init="lecun-sqrt", map_j=1.0)
    model = LeNet5(cfg, generator=torch.Generator().manual_seed(2)).double()
    x = torch.rand(1, 1, 32, 32) * 1.275 - 0.1
    y = torch.tensor([6])
    h = flat_hkk(model, x, y).double()
    eps = effective_rates(h, 0.0005, 0.02)
    theta = model.get_flat().double()

    def loss_at(vec):
        model.set_flat(vec)
        with torch.no_grad():
            return float(loss_fn("map", cfg.map_j)(model(x), y))

    # the step the reference backend takes: autograd gradient, then sdlm_step (w <- w - eps * g)
    model.set_flat(theta.clone())  # the parameters become views of the vector given
    model.zero_grad()
    loss_fn("map", cfg.map_j)(model(x), y).backward()
    sdlm_step(model, {n: eps[s].view_as(p) for (n, s), p in zip(model.parameter_slices().items(),
                                                                 model.parameters())})
    stepped = torch.cat([p.detach().flatten() for p in model.parameters()])  # float64 (get_flat is float32)
    for k in torch.randperm(theta.numel(), generator=torch.Generator().manual_seed(3))[:25].tolist() + [0, 59_999]:
        e = torch.zeros_like(theta)
        e[k] = 1e-5
        fd = (loss_at(theta + e) - loss_at(theta - e)) / 2e-5
        assert abs((theta[k] - stepped[k]) - eps[k] * fd) <= 1e-4 * abs(eps[k] * fd) + 1e-12, k
    assert 0.0005 / (0.02 + h.max()) <= eps.min() and eps.max() <= 0.0005 / 0.02
