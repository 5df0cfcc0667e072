"""The linear classifier (Sec. III-C.1).

"Each input pixel value contributes to a weighted sum for each output unit. The output unit with the
highest sum (including the contribution of a bias constant) indicates the class of the input
character. [...] The network has 7850 free parameters. [...] Various combinations of sigmoid units,
linear units, gradient descent learning, and learning by directly solving linear systems gave
similar results."

Reading taken: linear units "learned by directly solving linear systems": the least-squares fit of
+1 / -1 targets (+1 for the correct class, -1 for the others), with an optional ridge term `ridge`
(0 = plain least squares), solved in float64 through the normal equations. 28x28 inputs give
784 x 10 + 10 = 7,850 parameters; the deslanted 20x20 ones 4,010 (III-C.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lenet_repro.errors import ConfigError


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


@dataclass
class Linear:
    weight: torch.Tensor  # (D + 1, 10), the last row is the bias

    @property
    def parameters(self) -> int:
        return self.weight.numel()

    @property
    def multiply_adds(self) -> int:  # per recognition (Fig. 11): one weighted sum per class
        return (self.weight.shape[0] - 1) * self.weight.shape[1]

    def scores(self, x: torch.Tensor) -> torch.Tensor:  # (N, D) -> (N, 10)
        return with_bias(x.double()) @ self.weight

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.scores(x).argmax(1)


def fit(x: torch.Tensor, y: torch.Tensor, ridge: float = 0.0) -> Linear:
    """Least squares on +-1 targets: (N, D) images in [0, 1], (N,) labels."""
    if x.ndim != 2 or len(x) != len(y):
        raise ConfigError(f"linear.fit needs (N, D) inputs and (N,) labels, got {tuple(x.shape)} and {tuple(y.shape)}")
    return Linear(least_squares(with_bias(x.double()), targets(y), ridge))
