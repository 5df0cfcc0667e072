"""The K-nearest-neighbour classifier with a Euclidean distance (Sec. III-C.2).

"K-nearest neighbor classifier with a Euclidean distance measure between input images. [...] On the
regular test set the error rate was 5.0%. On the deslanted data, the error rate was 2.4%, with k = 3."

The vote: each of the k nearest training images votes for its class; the score of a class is its
number of votes plus a confidence below one vote from the CANDIDATES nearest images (vote_scores):
ties go to the class with the nearest image, so that the prediction is always defined, and the
difference of the two top scores gives Fig. 10's rejection a graded confidence. Distances are computed in float64 in
chunks (|a|^2 + |b|^2 - 2 a.b, exact for integer pixel values scaled by 1/255 up to rounding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from lenet_repro.errors import ConfigError

CANDIDATES = 20  # nearest images whose distances give the vote's confidence (ASSUMED; the paper gives none)


def nearest(train: torch.Tensor, x: torch.Tensor, k: int, chunk: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """(squared distances, indices) of the k nearest training rows for each row of x: (N, k) each, nearest
    first; equal distances keep the lower training index first (a stable, documented order)."""
    if not 1 <= k <= len(train):
        raise ConfigError(f"k must be between 1 and the number of training images ({len(train)}), got {k}")
    train = train.double()
    tn = (train * train).sum(1)  # (M,)
    out_d, out_i = [], []
    for s in range(0, len(x), chunk):
        q = x[s:s + chunk].double()
        d = (q * q).sum(1, keepdim=True) + tn.unsqueeze(0) - 2.0 * q @ train.T  # (n, M)
        d.clamp_(min=0.0)
        # stable: sort by (distance, index); topk is not stable, so take a margin and sort
        dd, ii = torch.topk(d, min(len(train), k + 8), dim=1, largest=False)
        order = torch.argsort(ii, dim=1)
        dd, ii = dd.gather(1, order), ii.gather(1, order)
        order = torch.argsort(dd, dim=1, stable=True)
        out_d.append(dd.gather(1, order)[:, :k])
        out_i.append(ii.gather(1, order)[:, :k])
    return torch.cat(out_d), torch.cat(out_i)


def vote_scores(dist: torch.Tensor, labels: torch.Tensor, k: int | None = None, classes: int = 10) -> torch.Tensor:
    """(N, K) squared distances and labels of K candidates, the first k (default: all) of them the voters
    -> (N, classes) scores: the votes, plus a confidence below one vote, 0.5 (1 - r_c / r_far), with r_c the
    Euclidean distance of the class's nearest candidate and r_far the farthest candidate's (0 for a class
    with no candidate). So the argmax is the vote, ties going to the class with the nearest candidate, and
    the difference between the two top scores -- what Fig. 10 rejects on -- grows with the vote margin and
    with how much nearer the winner's nearest candidate is than the runner-up's."""
    n = len(dist)
    k = dist.shape[1] if k is None else k
    votes = torch.zeros(n, classes, dtype=torch.float64)
    votes.scatter_add_(1, labels[:, :k], torch.ones(n, k, dtype=torch.float64))
    r = dist.double().clamp(min=0.0).sqrt()
    far = r.amax(1, keepdim=True).clamp(min=1e-12)
    near = torch.full((n, classes), math.inf, dtype=torch.float64).scatter_reduce(1, labels, r, reduce="amin")
    return votes + torch.where(torch.isinf(near), torch.zeros_like(near), 0.5 * (1 - near / far))


@dataclass
class KNN:
    train: torch.Tensor  # (M, D): every training image is kept (24 MB at one byte per pixel: III-C.2)
    labels: torch.Tensor  # (M,)
    k: int = 3

    @property
    def parameters(self) -> int:  # the stored variables (Fig. 12)
        return self.train.numel()

    @property
    def multiply_adds(self) -> int:  # per recognition (Fig. 11): a distance to every stored image
        return self.train.numel()

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        d, i = nearest(self.train, x, min(max(self.k, CANDIDATES), len(self.train)))
        return vote_scores(d, self.labels[i], self.k)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.scores(x).argmax(1)


def fit(x: torch.Tensor, y: torch.Tensor, k: int = 3) -> KNN:
    return KNN(x.double(), y.long(), k)
