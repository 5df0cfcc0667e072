"""Local learning (Bottou & Vapnik, Neural Computation 4(6), 1992; ref. [58]), as Sec. III-C.8 puts it on
LeNet-4's features: "we replaced the last layer of LeNet-4 with a Euclidean Nearest Neighbor classifier,
and with the 'local learning' method of Bottou and Vapnik [58], in which a local linear classifier is
retrained each time a new test pattern is shown."

Readings taken (ASSUMED; the paper gives no sizes): the features are the outputs of LeNet-4's 120-unit
layer F5; for each test pattern its `neighbours` nearest training patterns (Euclidean, in that space;
knn.nearest's stable order) train a linear classifier -- least squares of +-1 targets with a bias, as
the global linear classifier (linear.py), with a ridge term `ridge` x trace(A^T A) / (d + 1) so that
its strength does not depend on the scale of the features -- and that classifier's 10 outputs on the
test pattern are its scores (the largest wins; Fig. 10 rejects on them).

Shapes: train (M, d), labels (M,), x (N, d); scores (N, 10) float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lenet_repro.errors import ConfigError

from .knn import nearest
from .linear import targets


def local_scores(train: torch.Tensor, labels: torch.Tensor, x: torch.Tensor, neighbours: int, ridge: float,
                 chunk: int = 500) -> torch.Tensor:
    """(N, 10) scores: each row of x classified by the ridge least-squares fit on its own neighbours."""
    if ridge < 0:
        raise ConfigError(f"ridge must be >= 0, got {ridge}")
    train = train.double()
    _, idx = nearest(train, x, neighbours)  # (N, K)
    t_all = targets(labels)  # (M, 10)
    out = []
    for s in range(0, len(x), chunk):
        i = idx[s:s + chunk]  # (c, K)
        a = torch.cat([train[i], torch.ones(*i.shape, 1, dtype=torch.float64)], dim=2)  # (c, K, d + 1)
        g = a.transpose(1, 2) @ a  # (c, d + 1, d + 1)
        lam = ridge * g.diagonal(dim1=1, dim2=2).sum(1) / g.shape[1]  # (c,)
        g = g + lam.view(-1, 1, 1) * torch.eye(g.shape[1], dtype=torch.float64)
        w = torch.linalg.solve(g, a.transpose(1, 2) @ t_all[i])  # (c, d + 1, 10)
        q = torch.cat([x[s:s + chunk].double(), torch.ones(len(i), 1, dtype=torch.float64)], dim=1)  # (c, d + 1)
        out.append((q.unsqueeze(1) @ w).squeeze(1))
    return torch.cat(out)


@dataclass
class LocalLearning:
    train: torch.Tensor  # (M, d) stored training features
    labels: torch.Tensor  # (M,)
    neighbours: int
    ridge: float

    @property
    def parameters(self) -> int:  # stored variables (Fig. 12): the training features
        return self.train.numel()

    @property
    def multiply_adds(self) -> int:
        """Per recognition (Fig. 11): the distances to every stored pattern, then the local fit's normal
        equations (K (d+1)^2 + K (d+1) 10) and its solution ((d+1)^3 / 3 + (d+1)^2 10)."""
        m, d = self.train.shape
        k, e = self.neighbours, d + 1
        return m * d + k * e * e + k * e * 10 + e ** 3 // 3 + e * e * 10

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        return local_scores(self.train, self.labels, x, self.neighbours, self.ridge)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.scores(x).argmax(1)


def fit(x: torch.Tensor, y: torch.Tensor, neighbours: int = 200, ridge: float = 0.01) -> LocalLearning:
    if not 1 <= neighbours <= len(x):
        raise ConfigError(f"neighbours must be between 1 and the number of training patterns ({len(x)}), "
                          f"got {neighbours}")
    return LocalLearning(x.double(), y.long(), neighbours, ridge)
