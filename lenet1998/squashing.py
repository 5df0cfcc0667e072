"""The squashing function (Sec. II-B, App. A): f(a) = A tanh(S a), A = 1.7159, S = 2/3.

Chosen so that f(1) = 1 and f(-1) = -1 and the second derivative is largest at +-1. The ablation
activations (sigmoid, ReLU) share the interface: `f(a)` and `derivative(a)` (needed by the
second-derivative back-propagation of App. C).
"""

from __future__ import annotations

import torch

from lenet_repro.errors import ConfigError

A = 1.7159
S = 2.0 / 3.0


def scaled_tanh(a: torch.Tensor) -> torch.Tensor:
    return A * torch.tanh(S * a)


def scaled_tanh_derivative(a: torch.Tensor) -> torch.Tensor:
    t = torch.tanh(S * a)
    return A * S * (1 - t * t)


def _sigmoid_derivative(a: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(a)
    return s * (1 - s)


def _relu_derivative(a: torch.Tensor) -> torch.Tensor:
    return (a > 0).to(a.dtype)


ACTIVATIONS = {
    "scaled_tanh": (scaled_tanh, scaled_tanh_derivative),
    "sigmoid": (torch.sigmoid, _sigmoid_derivative),
    "relu": (torch.relu, _relu_derivative),
}


class Squash(torch.nn.Module):
    """Applies f element-wise; `derivative(a)` gives f'(a)."""

    def __init__(self, name: str = "scaled_tanh"):
        super().__init__()
        if name not in ACTIVATIONS:
            raise ConfigError(f"unknown activation {name!r}; use {', '.join(ACTIVATIONS)}")
        self.name = name
        self.f, self.derivative = ACTIVATIONS[name]

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.f(a)

    def extra_repr(self) -> str:
        return self.name
