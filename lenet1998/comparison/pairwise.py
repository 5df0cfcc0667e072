"""The pairwise linear classifier (Sec. III-C.1, after Guyon et al. 1989).

"In our case this layer comprises 45 units labeled 0/1, 0/2,...0/9, 1/2....8/9. Unit i/j is trained
to produce +1 on patterns of class i, -1 on patterns of class j, and is not trained on other patterns.
The final score for class i is the sum of the outputs all the units labeled i/x minus the sum of the
output of all the units labeled y/i, for all x and y."

Reading taken: each unit is linear (784 weights + bias: 45 x 785 = 35,325 parameters, Fig. 12's 35k),
fitted by least squares on its two classes (linear.least_squares), as the linear classifier. The
unit's nonlinearity is not stated: `unit="linear"` sums the raw outputs, `unit="tanh"` squashes each
unit's output with tanh before the sums (a sigmoid unit's bounded vote, so that a unit far from the
patterns it was trained on cannot dominate the score); chosen on held-out digits (reports/sections/comparison.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import torch

from lenet_repro.errors import ConfigError

from .linear import least_squares, with_bias

PAIRS = list(combinations(range(10), 2))  # (i, j), i < j: 45 units


UNITS = ("linear", "tanh")


@dataclass
class Pairwise:
    weight: torch.Tensor  # (D + 1, 45): unit (i, j) of PAIRS in column k
    unit: str = "linear"

    @property
    def parameters(self) -> int:
        return self.weight.numel()

    @property
    def multiply_adds(self) -> int:  # per recognition (Fig. 11): 45 weighted sums
        return (self.weight.shape[0] - 1) * self.weight.shape[1]

    def unit_outputs(self, x: torch.Tensor) -> torch.Tensor:  # (N, D) -> (N, 45)
        a = with_bias(x.double()) @ self.weight
        return torch.tanh(a) if self.unit == "tanh" else a

    def scores(self, x: torch.Tensor) -> torch.Tensor:  # (N, D) -> (N, 10)
        u = self.unit_outputs(x)
        s = torch.zeros(len(x), 10, dtype=torch.float64)
        for k, (i, j) in enumerate(PAIRS):  # unit i/j adds to class i, subtracts from class j
            s[:, i] += u[:, k]
            s[:, j] -= u[:, k]
        return s

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.scores(x).argmax(1)


def fit(x: torch.Tensor, y: torch.Tensor, ridge: float = 0.0, unit: str = "linear") -> Pairwise:
    if unit not in UNITS:
        raise ConfigError(f"unit={unit!r} is not one of {', '.join(UNITS)}")
    a = with_bias(x.double())
    cols = []
    for i, j in PAIRS:
        m = (y == i) | (y == j)
        t = torch.where(y[m] == i, 1.0, -1.0).double().unsqueeze(1)
        cols.append(least_squares(a[m], t, ridge))
    return Pairwise(torch.cat(cols, dim=1), unit)
