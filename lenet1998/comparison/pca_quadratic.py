"""40 PCA + quadratic classifier (Sec. III-C.3, after Ott 1976 and Schurmann 1978).

"the mean of each input component was first computed and subtracted from the training vectors. The
covariance matrix of the resulting vectors was then computed and diagonalized using Singular Value
Decomposition. The 40-dimensional feature vector was used as the input of a second degree polynomial
classifier. This classifier can be seen as a linear classifier with 821 inputs, preceded by a module
that computes all products of pairs of input variables."

821 inputs: the paper does not list the monomials; 821 = 1 + 820 = a constant and every product
z_i z_j with i <= j (squares included) of the 40 features -- "all products of pairs of input
variables" -- which is the reading taken (`monomials="pairs"`). The other count that gives 821 is
1 + 40 + 780 (constant, linear terms, cross products i < j only: `monomials="linear-cross"`); both are
implemented. The classifier is linear in those inputs, fitted like the linear classifier (least
squares on +-1 targets, linear.least_squares).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lenet_repro.errors import ConfigError

from .linear import least_squares, targets

MONOMIALS = ("pairs", "linear-cross")


def quadratic_features(z: torch.Tensor, monomials: str = "pairs") -> torch.Tensor:
    """(N, d) features -> (N, 1 + d(d+1)/2) [pairs] or (N, 1 + d + d(d-1)/2) [linear-cross]; d = 40 gives 821."""
    if monomials not in MONOMIALS:
        raise ConfigError(f"monomials={monomials!r} is not one of {', '.join(MONOMIALS)}")
    d = z.shape[1]
    i, j = torch.triu_indices(d, d, offset=0 if monomials == "pairs" else 1)
    parts = [torch.ones(len(z), 1, dtype=z.dtype)]
    if monomials == "linear-cross":
        parts.append(z)
    parts.append(z[:, i] * z[:, j])
    return torch.cat(parts, dim=1)


def principal_components(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean (D,), the k leading principal directions (D, k)) of the rows of x, by the SVD of the
    covariance matrix of the centred data (III-C.3), in float64; each direction's sign is fixed so that
    its largest-magnitude component is positive (the SVD's sign is arbitrary)."""
    if not 1 <= k <= x.shape[1]:
        raise ConfigError(f"the number of principal components must be in 1..{x.shape[1]}, got {k}")
    x = x.double()
    mean = x.mean(0)
    c = x - mean
    cov = c.T @ c / (len(x) - 1)  # (D, D)
    u, _s, _vt = torch.linalg.svd(cov)
    p = u[:, :k]
    sign = torch.sign(p.gather(0, p.abs().argmax(0, keepdim=True)))
    return mean, p * sign


@dataclass
class PCAQuadratic:
    mean: torch.Tensor  # (D,)
    components: torch.Tensor  # (D, k)
    weight: torch.Tensor  # (features, 10)
    monomials: str = "pairs"

    @property
    def parameters(self) -> int:  # Fig. 12 counts the projection and the classifier: 40 x 784 + 821 x 10
        return self.components.numel() + self.weight.numel()

    @property
    def multiply_adds(self) -> int:  # the projection, the products of pairs, the linear classifier (Fig. 11)
        k = self.components.shape[1]
        return self.components.numel() + k * (k + 1) // 2 + (self.weight.shape[0] - 1) * self.weight.shape[1]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return quadratic_features((x.double() - self.mean) @ self.components, self.monomials)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x) @ self.weight

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.scores(x).argmax(1)


def fit(x: torch.Tensor, y: torch.Tensor, k: int = 40, monomials: str = "pairs", ridge: float = 0.0) -> PCAQuadratic:
    mean, comps = principal_components(x, k)
    f = quadratic_features((x.double() - mean) @ comps, monomials)
    return PCAQuadratic(mean, comps, least_squares(f, targets(y), ridge), monomials)
