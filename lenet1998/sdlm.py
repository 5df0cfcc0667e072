"""Stochastic diagonal Levenberg-Marquardt (Appendix C), the readable reference.

Each parameter w_k gets its own step size eps_k = eta / (mu + h_kk), where eta is the global rate
of the pass and h_kk an estimate of the diagonal second derivative of the loss. h_kk is the
Gauss-Newton approximation obtained by back-propagating second derivatives (Eq. 25-27):

    d2E/da_i^2  = f'(a_i)^2 * sum_k w_ki^2 * d2E/da_k^2
    d2E/dw_ij^2 = sum over the connections (i, j) that share w of  x_j^2 * d2E/da_i^2

i.e. ordinary back-propagation with squared weights, squared inputs and squared f', starting from
the curvature of the loss at the output. It is averaged over 500 patterns before each pass and
held fixed during the pass. This is *not* the squared gradient (which would be Adagrad-like).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.nn.grad import conv2d_weight

from .model import LeNet5, Trace
from .subsampling import Subsampling


def _subsampling_second(layer: Subsampling, a: torch.Tensor, x_in: torch.Tensor,
                        d2_out: torch.Tensor, fp2, name: str, h: dict, curvature: str = "squares") -> torch.Tensor:
    """Second derivatives through S2/S4: d2E/d(input)^2 from d2E/d(output)^2."""
    if layer.mode == "maxpool":
        _, idx = F.max_pool2d(x_in, 2, return_indices=True)
        return F.max_unpool2d(d2_out, idx, 2, output_size=x_in.shape[-2:])
    if layer.mode == "avgpool":
        return F.interpolate(d2_out, scale_factor=2, mode="nearest") / 16
    d2a = fp2(a) * d2_out  # (B, C, H, W)
    # the coefficient is shared by the 4 connections of every unit: sum x_j^2 over them (Eq. 23/27),
    # or (sum x_j)^2 as Lush's s-layer bbprop takes it (times (1/4)^2 when the unit averages)
    if curvature == "square-of-sum":
        x2 = (F.avg_pool2d(x_in, 2) * 4) ** 2
    else:
        x2 = F.avg_pool2d(x_in * x_in, 2) * 4
    h[f"{name}.coef"] = (d2a * (x2 if layer.mode == "sum" else x2 / 16)).sum((0, 2, 3))
    h[f"{name}.bias"] = d2a.sum((0, 2, 3))
    factor = layer.coef ** 2 if layer.mode == "sum" else (layer.coef / 4) ** 2  # (d a / d x)^2
    return F.interpolate(d2a * factor.view(1, -1, 1, 1), scale_factor=2, mode="nearest")


@torch.no_grad()
def gauss_newton_diagonal(model: LeNet5, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """h_kk for every parameter: the mean over the batch of each pattern's diagonal (App. C)."""
    cfg = model.config
    t: Trace = model.trace(x)
    fp2 = lambda a: model.squash.derivative(a) ** 2  # noqa: E731
    h: dict[str, torch.Tensor] = {}
    B = x.shape[0]

    # output layer: curvature of the loss w.r.t. the F6 outputs x6
    if cfg.output == "rbf":
        # Gauss-Newton of y_D = sum_k (x_k - w_Dk)^2: d2/dx_k^2 = 2 (hkk_output_curvature)
        d2x6 = torch.full_like(t.x6, cfg.hkk_output_curvature)
        if cfg.rbf_trainable:
            h["output.centers"] = torch.zeros_like(model.output.centers).index_add_(
                0, labels, torch.full_like(t.x6, cfg.hkk_output_curvature))
    else:
        p = torch.softmax(t.out, dim=1)
        q = p * (1 - p)  # Gauss-Newton diagonal of softmax cross-entropy on the logits
        W = model.output.weight
        d2x6 = q @ (W * W)
        h["output.weight"] = q.T @ (t.x6 * t.x6)
        h["output.bias"] = q.sum(0)

    # F6
    d2a6 = fp2(t.a6) * d2x6  # (B, 84)
    h["F6.weight"] = d2a6.T @ (t.x5 * t.x5)  # (84, 120)
    h["F6.bias"] = d2a6.sum(0)
    d2x5 = d2a6 @ model.F6.weight ** 2  # (B, 120)
    # C5: 5x5 kernels on 5x5 maps = a full connection from the 400 S4 outputs
    d2a5 = fp2(t.a5) * d2x5  # (B, 120)
    x4 = t.x4.flatten(1)
    h["C5.weight"] = (d2a5.T @ (x4 * x4)).view_as(model.C5.weight)
    h["C5.bias"] = d2a5.sum(0)
    d2x4 = (d2a5 @ (model.C5.weight ** 2).flatten(1)).view_as(t.x4)  # (B, 16, 5, 5)
    # S4
    d2x3 = _subsampling_second(model.S4, t.a4, t.x3, d2x4, fp2, "S4", h, cfg.subsampling_curvature)  # (B, 16, 10, 10)
    # C3: squared inputs against squared-kernel back-propagation, summed over shared connections
    d2a3 = fp2(t.a3) * d2x3
    c3 = model.C3
    dense = conv2d_weight(t.x2 * t.x2, (16, 6, 5, 5), d2a3)  # (16, 6, 5, 5)
    h["C3.weight"] = dense[c3.conn_out, c3.conn_in]  # only the kernels of the table
    h["C3.bias"] = d2a3.sum((0, 2, 3))
    d2x2 = F.conv_transpose2d(d2a3, c3.dense_weight() ** 2)  # (B, 6, 14, 14)
    # S2
    d2x1 = _subsampling_second(model.S2, t.a2, t.x1, d2x2, fp2, "S2", h, cfg.subsampling_curvature)  # (B, 6, 28, 28)
    # C1
    d2a1 = fp2(t.a1) * d2x1
    h["C1.weight"] = conv2d_weight(t.x0 * t.x0, tuple(model.C1.weight.shape), d2a1)
    h["C1.bias"] = d2a1.sum((0, 2, 3))
    return {name: h[name] / B for name, _ in model.named_parameters()}


def flat_hkk(model: LeNet5, x: torch.Tensor, labels: torch.Tensor, chunk: int = 500) -> torch.Tensor:
    """h_kk as one flat vector in parameter order (mean over all of x, computed in chunks)."""
    total = None
    for i in range(0, len(x), chunk):
        h = gauss_newton_diagonal(model, x[i:i + chunk], labels[i:i + chunk])
        v = torch.cat([h[n].reshape(-1) for n, _ in model.named_parameters()]) * len(x[i:i + chunk])
        total = v if total is None else total + v
    return (total / len(x)).float()


def effective_rates(hkk: torch.Tensor, eta: float, mu: float) -> torch.Tensor:
    """eps_k = eta / (mu + h_kk) (App. C)."""
    return eta / (mu + hkk)


@torch.no_grad()
def sdlm_step(model: LeNet5, eps: dict[str, torch.Tensor]) -> None:
    """w_k <- w_k - eps_k * dE/dw_k for every parameter (gradients already in .grad)."""
    for name, p in model.named_parameters():
        p -= eps[name] * p.grad
