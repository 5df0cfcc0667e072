"""Weight initialisation (Appendix A).

"The weights were initialized with random values using a uniform distribution between -2.4/F_i
and 2.4/F_i where F_i is the number of inputs (fan-in) of the unit which the connection belongs
to." F_i is the unit's real fan-in: 25 for C1, 4 for a subsampling unit, 25 x (number of S2 maps
read) for each C3 map, 400 for C5, 120 for F6. The bias initialisation is not stated: `lecun`
draws it like the unit's weights, `zero` sets 0. `lecun-sqrt` uses 2.4/sqrt(F_i) (the reading of
Lush's `forget 2.4 2`); the `xavier` ablation replaces the convolution and F6 weights with
Glorot-uniform ones; `d2l` is the book's `init_cnn` exactly as its network sees the layers:
Glorot-uniform weights with the fans torch computes for the book's modules (C5 there is a
Linear(400, 120): fan-out 120, where the convolution's is 25 x 120) and torch's default biases
U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the S2/S4 coefficients and biases, which the book's network does
not have, are drawn by the 2.4/sqrt(F_i) rule. Every draw is made in a fixed parameter order from
one generator.
"""

from __future__ import annotations

import torch
from torch import nn

from .table_conv import TableConv2d


def _uniform_(t: torch.Tensor, bound: torch.Tensor | float, g: torch.Generator) -> None:
    with torch.no_grad():
        u = torch.rand(t.shape, generator=g, dtype=torch.float64) * 2 - 1
        t.copy_((u * bound).to(t.dtype))


def fan_ins(model) -> dict[str, torch.Tensor | float]:
    """F_i, the real fan-in of the unit each parameter belongs to (C3: one value per kernel/map)."""
    c3: TableConv2d = model.C3
    per_map = c3.fan_in().double()  # (16,): 75, 100 or 150
    fans = {
        "C1.weight": 25.0, "C1.bias": 25.0,
        "C3.weight": per_map[c3.conn_out].view(-1, 1, 1), "C3.bias": per_map,
        "C5.weight": 400.0, "C5.bias": 400.0,
        "F6.weight": 120.0, "F6.bias": 120.0,
        "output.weight": 84.0, "output.bias": 84.0,
    }
    for name in ("S2", "S4"):
        if getattr(model, name).has_params:
            fans[f"{name}.coef"] = fans[f"{name}.bias"] = 4.0
    return fans


def lecun_bounds(model, sqrt: bool = False, scale: float = 2.4) -> dict[str, torch.Tensor | float]:
    """2.4 / F_i (App. A) -- or 2.4 / sqrt(F_i) -- for every parameter, by name (`scale` replaces 2.4:
    1 / sqrt(F_i) is Lush's `forget 1 2`, gblearn2 c-layer / f-layer)."""
    return {n: scale / (f ** 0.5 if sqrt else f) for n, f in fan_ins(model).items()}


# The layers of the book's network (modern/model.py) and their (fan_in, fan_out) as torch computes them
# there: Conv2d (out, in, 5, 5) -> (in x 25, out x 25); Linear(in, out) -> (in, out). C5 is a Linear there.
D2L_LAYERS = ("C1.weight", "C1.bias", "C3.weight", "C3.bias", "C5.weight", "C5.bias", "F6.weight", "F6.bias",
              "output.weight", "output.bias")


def d2l_bounds(model) -> dict[str, torch.Tensor | float]:
    """The book's init_cnn bounds: sqrt(6 / (fan_in + fan_out)) for weights (nn.init.xavier_uniform_) and
    1 / sqrt(fan_in) for biases (torch's default reset_parameters), with the fans of the book's modules; C3
    through Table I uses each map's real fan-in (75, 100 or 150) and the dense fan-out 16 x 25."""
    c3_in = model.C3.fan_in().double()  # (16,)
    n6 = model.F6.out_features
    fans = {"C1": (25.0, 150.0), "C5": (400.0, 120.0), "F6": (120.0, float(n6)), "output": (float(n6), 10.0)}
    out: dict = {}
    for layer, (fi, fo) in fans.items():
        out[f"{layer}.weight"] = (6.0 / (fi + fo)) ** 0.5
        out[f"{layer}.bias"] = 1.0 / fi ** 0.5
    out["C3.weight"] = torch.sqrt(6.0 / (c3_in + 400.0))[model.C3.conn_out].view(-1, 1, 1)
    out["C3.bias"] = 1.0 / torch.sqrt(c3_in)
    return out


def initialize(model, init: str = "lecun", bias_init: str = "lecun", generator: torch.Generator | None = None,
               subsampling_coef: float | None = None, subsampling_start: str = "drawn"):
    """`subsampling_start="lush"`: every S2/S4 coefficient starts at 1/sqrt(4) = 0.5 and every S2/S4
    bias at 0, as gblearn2's s-layer `forget 1 2` sets them (the other parameters are drawn as usual)."""
    g = generator or torch.Generator().manual_seed(0)
    bounds = lecun_bounds(model, sqrt=init in ("lecun-sqrt", "lush", "d2l"), scale=1.0 if init == "lush" else 2.4)
    if init == "d2l":
        bounds.update(d2l_bounds(model))
    for name, p in model.named_parameters():  # fixed order: reproducible from the seed
        if name == "output.centers":
            continue  # trainable RBF centers start at the bitmaps
        is_bias = name.endswith("bias")
        if is_bias and bias_init == "zero":
            with torch.no_grad():
                p.zero_()
            continue
        if init == "d2l" and name in D2L_LAYERS:
            _uniform_(p, bounds[name], g)
            continue
        if init == "xavier" and name.endswith("weight") and not is_bias:
            if name == "C3.weight":
                fan_in = model.C3.fan_in().double()[model.C3.conn_out].view(-1, 1, 1)
                fan_out = 25.0 * 16  # dense-equivalent fan-out, as torch computes for (16, 6, 5, 5)
                _uniform_(p, torch.sqrt(6.0 / (fan_in + fan_out)), g)
            else:
                fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(p)
                _uniform_(p, (6.0 / (fan_in + fan_out)) ** 0.5, g)
            continue
        if subsampling_coef is not None and name in ("S2.coef", "S4.coef"):
            with torch.no_grad():
                p.fill_(subsampling_coef)
            continue
        if subsampling_start == "lush" and name in ("S2.coef", "S4.coef", "S2.bias", "S4.bias"):
            with torch.no_grad():
                p.fill_(0.5 if name.endswith("coef") else 0.0)
            continue
        _uniform_(p, bounds[name], g)

