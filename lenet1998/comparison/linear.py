"""The linear classifier (Sec. III-C.1).

"Each input pixel value contributes to a weighted sum for each output unit. The output unit with the
highest sum (including the contribution of a bias constant) indicates the class of the input
character. [...] The network has 7850 free parameters. [...] Various combinations of sigmoid units,
linear units, gradient descent learning, and learning by directly solving linear systems gave
similar results."

The unit and the method are a reading (`method`, issue 18; chosen on held-out digits,
reports/sections/comparison.py), each fitting +1 / -1 targets (+1 for the correct class, -1 for the others) with
the ridge term `ridge` (0 = none) on the squared error summed over the training patterns:

- "least-squares": linear units "learned by directly solving linear systems", solved in float64
  through the normal equations (the reading taken before any run);
- "linear-sgd": linear units learned by online gradient descent on the same objective (it tends to the
  least-squares solution as the step shrinks);
- "tanh-sgd": sigmoid units, the paper's f(a) = 1.7159 tanh(2a/3) (App. A, lenet1998/squashing.py), by
  online gradient descent on the squared error of f(a) against the same targets.

Gradient descent (both): zero initial weights; `passes` passes through the training patterns in one
fixed order (a permutation drawn from generator seed 0: the row stays deterministic, as the seed
does not enter); each pattern's step is rate_p / (1 + |x|^2) -- the normalised LMS step, stable for
linear units below 2, so one rate fits 784 and 400 inputs alike -- where rate_p is `rate` times
LeNet-5's schedule relative to its first pass (App. C: 1, 1, 0.4, 0.4, 0.4, 0.2, ..., 0.02); the ridge
enters each step as ridge / N of the weights (N patterns: the summed objective's share). The rate
(0.05) and the pass count (10, the fully connected nets' "10 to 20") are ASSUMED.
28x28 inputs give 784 x 10 + 10 = 7,850 parameters; the deslanted 20x20 ones 4,010 (III-C.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lenet_repro.errors import ConfigError

from ..config import PAPER_SCHEDULE
from ..squashing import A as SQUASH_A

METHODS = ("least-squares", "linear-sgd", "tanh-sgd")
SQUASH_S = 2.0 / 3.0  # f(a) = A tanh(S a) (App. A)


def with_bias(x: torch.Tensor) -> torch.Tensor:
    """(N, D) -> (N, D + 1): a constant 1 appended (the bias input)."""
    return torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)


def targets(y: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """(N,) labels -> (N, classes) float64 targets: +1 for the label, -1 elsewhere."""
    t = -torch.ones(len(y), classes, dtype=torch.float64)
    t[torch.arange(len(y)), y.long()] = 1.0
    return t


def least_squares(a: torch.Tensor, t: torch.Tensor, ridge: float = 0.0) -> torch.Tensor:
    """argmin_W |A W - T|^2 + ridge |W|^2 (the bias row included), by the normal equations in float64.
    A rank-deficient A (MNIST has pixels that are 0 in every image) gets the minimum-norm solution."""
    if ridge < 0:
        raise ConfigError(f"ridge must be >= 0, got {ridge}")
    a, t = a.double(), t.double()
    g = a.T @ a  # (D+1, D+1)
    if ridge:
        g = g + ridge * torch.eye(len(g), dtype=g.dtype)
        return torch.linalg.solve(g, a.T @ t)
    lam, v = torch.linalg.eigh(g)  # G is symmetric positive semi-definite: its pseudo-inverse from eigh
    keep = lam > lam.max() * len(g) * torch.finfo(g.dtype).eps
    return v[:, keep] @ ((v[:, keep].T @ (a.T @ t)) / lam[keep].unsqueeze(1))


def relative_schedule(passes: int) -> list[float]:
    """LeNet-5's per-pass rates (App. C) divided by its first: 1, 1, 0.4, 0.4, 0.4, 0.2, ... (the last repeats)."""
    return [PAPER_SCHEDULE[min(p, len(PAPER_SCHEDULE) - 1)] / PAPER_SCHEDULE[0] for p in range(passes)]


def gradient_descent(a: torch.Tensor, t: torch.Tensor, unit: str, rate: float, passes: int,
                     ridge: float = 0.0) -> torch.Tensor:
    """Online gradient descent on sum_p |u(a_p W) - t_p|^2 / 2 + ridge |W|^2 / 2, u the identity ("linear")
    or A tanh(S .) ("tanh"): (N, D+1) inputs with their bias column, (N, C) targets -> (D+1, C) weights.
    Each step: W -= rate_p / (1 + |x|^2) * (x (u(a) - t) u'(a) + ridge / N W), in float64 (the docstring above)."""
    if unit not in ("linear", "tanh"):
        raise ConfigError(f"unit must be 'linear' or 'tanh', got {unit!r}")
    if not (rate > 0 and passes >= 1 and ridge >= 0):
        raise ConfigError(f"gradient descent needs rate > 0, passes >= 1 and ridge >= 0, got {rate}, {passes}, {ridge}")
    x, tt = a.double().numpy(), t.double().numpy()
    n = len(x)
    w = np.zeros((x.shape[1], tt.shape[1]))
    norm = 1.0 + (x * x).sum(1)  # 1 + |x|^2: the bias input counts as the 1
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0)).numpy()
    decay = ridge / n
    for scale in relative_schedule(passes):
        for i in order:
            xi = x[i]
            s = xi @ w  # (C,)
            if unit == "tanh":
                th = np.tanh(SQUASH_S * s)
                delta = (SQUASH_A * th - tt[i]) * (SQUASH_A * SQUASH_S * (1.0 - th * th))
            else:
                delta = s - tt[i]
            step = rate * scale / norm[i]
            if decay:
                w *= 1.0 - step * decay
            w -= step * np.outer(xi, delta)
    return torch.from_numpy(w)


@dataclass
class Linear:
    weight: torch.Tensor  # (D + 1, 10), the last row is the bias
    unit: str = "linear"  # the outputs: the weighted sums ("linear") or A tanh(S .) of them ("tanh")

    @property
    def parameters(self) -> int:
        return self.weight.numel()

    @property
    def multiply_adds(self) -> int:  # per recognition (Fig. 11): one weighted sum per class
        return (self.weight.shape[0] - 1) * self.weight.shape[1]

    def scores(self, x: torch.Tensor) -> torch.Tensor:  # (N, D) -> (N, 10)
        s = with_bias(x.double()) @ self.weight
        return SQUASH_A * torch.tanh(SQUASH_S * s) if self.unit == "tanh" else s

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.scores(x).argmax(1)


def fit(x: torch.Tensor, y: torch.Tensor, ridge: float = 0.0, method: str = "least-squares", rate: float = 0.05,
        passes: int = 10) -> Linear:
    """+-1 targets fitted by `method` (METHODS): (N, D) images in [0, 1], (N,) labels."""
    if x.ndim != 2 or len(x) != len(y):
        raise ConfigError(f"linear.fit needs (N, D) inputs and (N,) labels, got {tuple(x.shape)} and {tuple(y.shape)}")
    if method not in METHODS:
        raise ConfigError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    a, t = with_bias(x.double()), targets(y)
    if method == "least-squares":
        return Linear(least_squares(a, t, ridge))
    unit = "tanh" if method == "tanh-sgd" else "linear"
    return Linear(gradient_descent(a, t, unit, rate, passes, ridge), unit)
