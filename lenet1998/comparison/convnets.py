"""The layered networks of Fig. 9 as `Net`s (lenet1998/fast/layered.py) -- the fully connected nets
(Sec. III-C.5, III-C.6), LeNet-1 (Sec. III-C.7) and LeNet-4 (Sec. III-C.8) -- and the readable torch
autograd specification of what the C kernel (lenet1998/fast/layered.c) computes for them.

Training is LeNet-5's (Appendix C): online stochastic diagonal Levenberg-Marquardt, every unit
squashed by f(a) = 1.7159 tanh(2a/3), E = sum_k (x_k - t_k)^2 with targets +1 for the correct class
and -1 for the others, the prediction the largest output (the readings lenet1998/comparison/mlp.py
documents), parameters drawn from U(+-2.4/sqrt(F_i)).

Shapes: x (N, *net.input_shape) or (N, net.input_size); params the flat float32 (net.param_count,)
vector in the kernel's layout (layered.py's docstring); labels (N,) int64.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lenet_repro.errors import ConfigError

from ..fast.layered import CONV, FULL, Net, Placed, conv, full, sub

A, S = 1.7159, 2.0 / 3.0

MLP_SIZES = ((784, 300, 10), (784, 1000, 10), (784, 300, 100, 10), (784, 500, 150, 10), (400, 300, 10))


def mlp_net(sizes: tuple[int, ...]) -> Net:
    """A fully connected net (Sec. III-C.5: 28x28-300-10 and 28x28-1000-10; Sec. III-C.6: 28x28-300-100-10
    and 28x28-500-150-10; Fig. 9's "[deslant] 20x20-300-10"): the same network as mlp.build(sizes)."""
    if len(sizes) < 2 or sizes[-1] != 10 or min(sizes) < 1:
        raise ConfigError(f"an MLP needs sizes (D, ..., 10) with positive entries, got {sizes}")
    return Net([full(n, name=f"F{i + 1}") for i, n in enumerate(sizes[1:])], (sizes[0],),
               name="-".join(map(str, sizes)))


# LeNet-1's H3 table. [35] says only that H3's 12 maps see 20 of the 48 (H3, H2) map pairs: ASSUMED
# here, maps 0-3 read H2 map {i}, maps 4-7 {i-4, i-3 mod 4}, maps 8-11 {i-8, i-6 mod 4}.
LENET1_H3_TABLE = tuple(sorted({(o, o) for o in range(4)}
                               | {(o, i) for o in range(4, 8) for i in (o - 4, (o - 3) % 4)}
                               | {(o, i) for o in range(8, 12) for i in (o - 8, (o - 6) % 4)}))
# LeNet-4's C3 table: the paper gives none. ASSUMED: map j reads S2 maps {j, j+1, j+2} mod 8.
LENET4_C3_TABLE = tuple(sorted((j, i % 8) for j in range(16) for i in (j % 8, j % 8 + 1, j % 8 + 2)))


def lenet1() -> Net:
    """LeNet-1 (Sec. III-C.7: "The images were down-sampled to 16x16 pixels and centered in the 28x28 input
    layer ... about 100,000 multiply/add steps ... only about 2600" free parameters), the architecture of
    LeCun et al., NIPS 2 1990 (ref. [35]): H1 4@24x24 5x5 convolutions of the input, H2 4@12x12 2x2
    averaging (a trainable coefficient and bias per map), H3 12@8x8 5x5 convolutions over 20 of the 48
    H2-H3 map pairs (LENET1_H3_TABLE, ASSUMED), H4 12@4x4 averaging, 10 outputs fully connected to H4:
    2,578 free parameters and 98,442 connections, [35]'s printed counts."""
    return Net([conv(4, 5, name="H1"), sub(name="H2"), conv(12, 5, LENET1_H3_TABLE, name="H3"), sub(name="H4"),
                full(10, name="output")], (1, 28, 28), name="lenet1")


def lenet4() -> Net:
    """LeNet-4 (Sec. III-C.8): "4 first-level feature maps, followed by 8 subsampling maps connected in
    pairs to each first-layer feature maps, then 16 feature maps, followed by 16 subsampling map,
    followed by a fully connected layer with 120 units, followed by the output layer (10 units)", on
    LeNet-5's 32x32 input: C1 4@28x28 5x5, S2 8@14x14 (map m averages C1 map m // 2), C3 16@10x10 5x5
    (LENET4_C3_TABLE, ASSUMED: 48 pairs), S4 16@5x5, F5 120 units, output 10.

    Its counts: 262,306 connections (the paper: "about 260,000") and 50,698 free parameters. The paper
    says "about 17,000" parameters, which no reading of the text reaches: F5 alone, 120 units fully
    connected to 16@5x5, has 48,120. The text's connection count is kept; the parameter count is not
    matched."""
    return Net([conv(4, 5, name="C1"), sub([m // 2 for m in range(8)], name="S2"),
                conv(16, 5, LENET4_C3_TABLE, name="C3"), sub(name="S4"), full(120, name="F5"),
                full(10, name="output")], (1, 32, 32), name="lenet4")


def net_by_name(name: str) -> Net:
    """"784-300-10"-style sizes (an MLP), "lenet1" or "lenet4"."""
    if name == "lenet1":
        return lenet1()
    if name == "lenet4":
        return lenet4()
    try:
        sizes = tuple(int(v) for v in name.split("-"))
    except ValueError:
        raise ConfigError(f"unknown network {name!r}; use lenet1, lenet4 or sizes like 784-300-10") from None
    return mlp_net(sizes)


def init_params(net: Net, generator: torch.Generator) -> torch.Tensor:
    """(param_count,) float32: every weight and bias from U(-2.4/sqrt(F_i), 2.4/sqrt(F_i)), F_i the
    fan-in of its unit (Sec. II-B's footnote rule, net.fan_ins), drawn per parameter block in order
    (weights then biases of each layer) in float64 and rounded -- mlp.build's draws, so an MLP Net
    starts from mlp.build's parameters."""
    bound = 2.4 / net.fan_ins.double().sqrt()
    out = torch.empty(net.param_count)
    for p in net.placed:
        for start, shape in ((p.w_offset, p.w_shape), (p.b_offset, (p.b_count,))):
            u = torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1
            n = u.numel()
            out[start:start + n] = (u.reshape(-1) * bound[start:start + n]).float()
    return out


# ---------------------------------------------------------------------------------- reference


def squash(a: torch.Tensor) -> torch.Tensor:
    return A * torch.tanh(S * a)


def targets(labels: torch.Tensor, n: int = 10, dtype=torch.float32) -> torch.Tensor:
    """(N,) labels -> (N, n) targets: +1 for the correct class, -1 for the others."""
    t = torch.full((len(labels), n), -1.0, dtype=dtype)
    t[torch.arange(len(labels)), labels] = 1.0
    return t


def _weights(p: Placed, params: torch.Tensor):
    """One layer's parameters as tensors: FULL (W (n_out, n_in), b); CONV (dense kernels
    (out, in, k, k) with zeros off the table, b); SUB (coefficients, b)."""
    w = params[p.w_offset:p.b_offset].reshape(p.w_shape)
    b = params[p.b_offset:p.end]
    if p.layer.kind == CONV:
        o, i = torch.tensor(p.pairs).T
        dense = torch.zeros(p.out_shape[0], p.in_shape[0], p.layer.k, p.layer.k, dtype=params.dtype)
        w = dense.index_put((o, i), w)
    return w, b


def _layer(p: Placed, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Pre-activations a of one layer: x (N, *in_shape) -> (N, *out_shape) (FULL: (N, n_out))."""
    w, b = _weights(p, params)
    if p.layer.kind == FULL:
        return x.flatten(1) @ w.T + b
    if p.layer.kind == CONV:
        return F.conv2d(x, w, b)
    src = torch.tensor([s for _, s in p.pairs])
    return F.avg_pool2d(x[:, src], 2) * w.view(1, -1, 1, 1) + b.view(1, -1, 1, 1)


def trace(net: Net, params: torch.Tensor, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """[(a_l, x_l)] per layer: pre-activations and squashed outputs. x (N, ...) -> shapes per layer."""
    h, out = x.to(params.dtype), []
    for p in net.placed:
        a = _layer(p, params, h.reshape(len(x), *p.in_shape))
        h = squash(a)
        out.append((a, h))
    return out


def forward(net: Net, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(N, n_outputs) outputs."""
    return trace(net, params, x)[-1][1].reshape(len(x), -1)


def loss(out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(N,) E = sum_k (x_k - t_k)^2 per pattern."""
    return ((out - targets(labels, out.shape[1], out.dtype)) ** 2).sum(1)


def online_step(net: Net, params: torch.Tensor, eps: torch.Tensor, x: torch.Tensor, label: int) -> tuple[float, bool]:
    """One online SDLM step on one pattern x (input_shape), in place: autograd's gradient of E at the
    current weights, then w <- w - eps * grad for every parameter. Returns (E, the prediction made
    before the update was wrong)."""
    p = params.detach().clone().requires_grad_(True)
    out = forward(net, p, x.unsqueeze(0))[0]
    e = loss(out.unsqueeze(0), torch.tensor([label]))[0]
    (g,) = torch.autograd.grad(e, p)
    with torch.no_grad():
        params -= eps * g
    return e.item(), int(out.argmax()) != int(label)


def online_pass(net: Net, params: torch.Tensor, eps: torch.Tensor, x: torch.Tensor, labels: torch.Tensor,
                order: torch.Tensor) -> tuple[float, int]:
    """online_step over the patterns `order`: (loss sum, running errors)."""
    loss_sum, errors = 0.0, 0
    for i in order.tolist():
        e, wrong = online_step(net, params, eps, x[i], int(labels[i]))
        loss_sum += e
        errors += wrong
    return loss_sum, errors


def gauss_newton_diagonal(net: Net, params: torch.Tensor, x: torch.Tensor, output_curvature: float = 2.0
                          ) -> torch.Tensor:
    """h_kk per parameter (App. C, Eq. 25-27), the mean over the patterns x: d2E/dx^2 = output_curvature
    at every output, back-propagated layer by layer with d2a = f'(a)^2 d2x and d2x_in = sum_j w_ji^2 d2a_j;
    a weight's h sums d2a x_in^2 over the connections sharing it, a bias's sums d2a, a SUB coefficient's
    sums d2a mean(window)^2 (the square-of-sum reading LeNet-5 uses), a SUB input gets (c/4)^2 d2a."""
    tr = trace(net, params, x)
    ins = [x.to(params.dtype)] + [h for _, h in tr[:-1]]
    h = torch.zeros_like(params)
    d2x = torch.full_like(tr[-1][1], output_curvature)
    for p, (a, _), xin in reversed(list(zip(net.placed, tr, ins))):
        fp = A * S * (1 - torch.tanh(S * a) ** 2)
        d2a = fp * fp * d2x.reshape(a.shape)
        w, _ = _weights(p, params)
        xin = xin.reshape(len(x), *p.in_shape)
        if p.layer.kind == FULL:
            xin = xin.flatten(1)
            hw, hb = d2a.T @ (xin * xin), d2a.sum(0)
            d2x = d2a @ (w * w)
        elif p.layer.kind == CONV:
            dense = torch.nn.grad.conv2d_weight(xin * xin, w.shape, d2a)  # sum over patterns and positions
            o, i = torch.tensor(p.pairs).T
            hw, hb = dense[o, i], d2a.sum((0, 2, 3))
            d2x = torch.nn.grad.conv2d_input(xin.shape, w * w, d2a)
        else:
            src = torch.tensor([s for _, s in p.pairs])
            mean = F.avg_pool2d(xin[:, src], 2)
            hw, hb = (d2a * mean * mean).sum((0, 2, 3)), d2a.sum((0, 2, 3))
            up = (d2a * (w * w / 16).view(1, -1, 1, 1)).repeat_interleave(2, 2).repeat_interleave(2, 3)
            d2x = torch.zeros_like(xin).index_add_(1, src, up)
        h[p.w_offset:p.b_offset] = hw.reshape(-1) / len(x)
        h[p.b_offset:p.end] = hb / len(x)
    return h
