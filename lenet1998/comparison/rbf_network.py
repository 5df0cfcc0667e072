"""1000 RBF units + linear classifier (Sec. III-C.4, after Lee 1991).

"The first layer was composed of 1,000 Gaussian RBF units with 28x28 inputs, and the second layer was
a simple 1000 inputs / 10 outputs linear classifier. The RBF units were divided into 10 groups of 100.
Each group of units was trained on all the training examples of one of the 10 classes using the
adaptive K-means algorithm. The second layer weights were computed using a regularized pseudo-inverse
method."

Readings taken (all unstated in the paper):
- "adaptive K-means": online (MacQueen) K-means -- each example moves its nearest centre by 1/(count)
  of the difference -- over the class's examples in a seeded random order, `epochs` passes, centres
  started at `centers` examples drawn without replacement;
- the Gaussian of unit c: exp(-|x - c|^2 / (2 sigma_c^2)), sigma_c = `width` x the RMS distance of the
  examples assigned to c (a centre with fewer than 2 examples takes its group's mean sigma);
- the second layer: a bias + 1000 weights per class, the ridge-regularised least-squares ("pseudo-
  inverse") fit of +-1 targets, ridge = `ridge` x trace(A^T A) / (features).
Fig. 11/12 count 794k: 1000 x 784 centres + 10 x 1000 weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lenet_repro.errors import ConfigError

from .linear import least_squares, targets, with_bias


def adaptive_kmeans(x: torch.Tensor, k: int, epochs: int = 2, generator: torch.Generator | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Online K-means on the rows of x: (centres (k, D), assignment of each row (N,) after the last pass).
    Each example, in a random order per pass, moves its nearest centre c by (x - c) / n_c, n_c the number
    of examples c has absorbed so far (MacQueen's rule)."""
    if not 1 <= k <= len(x):
        raise ConfigError(f"K-means needs 1 <= k <= {len(x)} examples, got k = {k}")
    g = generator or torch.Generator().manual_seed(0)
    x = x.double()
    centres = x[torch.randperm(len(x), generator=g)[:k]].clone()
    counts = torch.ones(k, dtype=torch.float64)
    cn = (centres * centres).sum(1)
    for _ in range(epochs):
        for t in torch.randperm(len(x), generator=g).tolist():
            v = x[t]
            c = int(torch.argmin(cn - 2.0 * centres @ v))  # |v - c|^2 without the constant |v|^2
            counts[c] += 1
            centres[c] += (v - centres[c]) / counts[c]
            cn[c] = centres[c] @ centres[c]
    d = (x * x).sum(1, keepdim=True) + cn.unsqueeze(0) - 2.0 * x @ centres.T
    return centres, d.argmin(1)


def widths(x: torch.Tensor, centres: torch.Tensor, assign: torch.Tensor, scale: float) -> torch.Tensor:
    """sigma per centre: scale x the RMS distance of its assigned examples (the group mean for centres with < 2)."""
    d2 = ((x.double() - centres[assign]) ** 2).sum(1)
    k = len(centres)
    n = torch.bincount(assign, minlength=k).double()
    rms = torch.sqrt(torch.zeros(k, dtype=torch.float64).scatter_add_(0, assign, d2) / n.clamp(min=1))
    ok = n >= 2
    fill = rms[ok].mean() if ok.any() else torch.tensor(1.0, dtype=torch.float64)
    return scale * torch.where(ok, rms, fill).clamp(min=1e-6)


def rbf_layer(x: torch.Tensor, centres: torch.Tensor, sigma: torch.Tensor, chunk: int = 5000) -> torch.Tensor:
    """(N, D) -> (N, C): exp(-|x - c|^2 / (2 sigma_c^2))."""
    cn = (centres * centres).sum(1)
    out = []
    for s in range(0, len(x), chunk):
        q = x[s:s + chunk].double()
        d2 = ((q * q).sum(1, keepdim=True) + cn.unsqueeze(0) - 2.0 * q @ centres.T).clamp(min=0.0)
        out.append(torch.exp(-d2 / (2.0 * sigma * sigma)))
    return torch.cat(out)


@dataclass
class RBFNetwork:
    centres: torch.Tensor  # (1000, D)
    sigma: torch.Tensor  # (1000,)
    weight: torch.Tensor  # (1001, 10): the last row is the bias

    @property
    def parameters(self) -> int:  # Fig. 12 counts centres + second-layer weights
        return self.centres.numel() + self.weight.numel()

    @property
    def multiply_adds(self) -> int:  # a distance to each centre, then the linear layer (Fig. 11)
        return self.centres.numel() + (self.weight.shape[0] - 1) * self.weight.shape[1]

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        return with_bias(rbf_layer(x, self.centres, self.sigma)) @ self.weight

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.scores(x).argmax(1)


def fit(x: torch.Tensor, y: torch.Tensor, per_class: int = 100, width: float = 1.0, ridge: float = 1e-3,
        epochs: int = 2, seed: int = 0) -> RBFNetwork:
    if width <= 0 or ridge < 0:
        raise ConfigError(f"width must be > 0 and ridge >= 0, got {width} and {ridge}")
    cs, ss = [], []
    for c in range(10):
        xc = x[y == c].double()
        g = torch.Generator().manual_seed(seed * 10 + c)
        centres, assign = adaptive_kmeans(xc, per_class, epochs, g)
        cs.append(centres)
        ss.append(widths(xc, centres, assign, width))
    centres, sigma = torch.cat(cs), torch.cat(ss)
    a = with_bias(rbf_layer(x, centres, sigma))
    lam = ridge * float((a * a).sum()) / a.shape[1]
    return RBFNetwork(centres, sigma, least_squares(a, targets(y), lam))
