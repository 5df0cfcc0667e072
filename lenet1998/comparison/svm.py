"""The polynomial support vector machine (Sec. III-C.11): "SVM poly 4", 1.1 % in Fig. 9.

"With a regular SVM, their error rate on the regular test set was 1.4%. Cortes and Vapnik had
reported an error rate of 1.1% with SVM on the same data using a slightly different technique. The
computational cost of this technique is very high: about 14 million multiply-adds per recognition."

scikit-learn's SVC (libsvm's SMO) fits it: writing an SMO solver by hand would be hundreds of lines
of a well-known algorithm. Readings taken (unstated in the paper): the kernel
K(u, v) = (gamma u.v + coef0)^degree on pixels in [0, 1] with gamma = gamma_scale / D (1 / D is
scikit-learn's "auto"; the scale is chosen on held-out digits, reports/comparison.py), coef0 = 1, degree 4, C = 10, one-vs-one over the 45 class
pairs (libsvm's multiclass scheme; scores = the vote counts plus the summed pairwise decision values
scaled below one vote, so that Fig. 10 can reject on them).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lenet_repro.errors import ConfigError

from .pairwise import PAIRS  # (i, j), i < j: also libsvm's order of its one-vs-one classifiers


def kernel(u: torch.Tensor, v: torch.Tensor, degree: int, gamma: float, coef0: float) -> torch.Tensor:
    """(N, D), (M, D) -> (N, M) polynomial kernel values, float64."""
    return (gamma * (u.double() @ v.double().T) + coef0) ** degree


@dataclass
class SVM:
    model: object  # sklearn.svm.SVC
    degree: int
    gamma: float
    coef0: float

    @property
    def support(self) -> torch.Tensor:
        return torch.from_numpy(self.model.support_vectors_)

    @property
    def parameters(self) -> int:  # stored: the support vectors and their coefficients (Fig. 12)
        sv = self.model.support_vectors_
        return int(sv.size + self.model.dual_coef_.size + self.model.intercept_.size)

    @property
    def multiply_adds(self) -> int:  # a dot product with every support vector (Fig. 11), the kernels' powers aside
        return int(self.model.support_vectors_.size)

    def pairwise_decisions(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 45) decision values of the one-vs-one classifiers (PAIRS order), > 0 favouring the first class."""
        import numpy as np

        return torch.from_numpy(np.asarray(self.model.decision_function(x.double().numpy()), dtype=np.float64))

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        d = self.pairwise_decisions(x)
        votes = torch.zeros(len(x), 10, dtype=torch.float64)
        margin = torch.zeros(len(x), 10, dtype=torch.float64)
        for k, (i, j) in enumerate(PAIRS):
            win_i = d[:, k] > 0
            votes[:, i] += win_i.double()
            votes[:, j] += (~win_i).double()
            margin[:, i] += d[:, k]
            margin[:, j] -= d[:, k]
        return votes + margin / (2 * (margin.abs().amax(1, keepdim=True) * 10 + 1e-12))

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.scores(x).argmax(1)


def fit(x: torch.Tensor, y: torch.Tensor, degree: int = 4, C: float = 10.0, coef0: float = 1.0,
        gamma_scale: float = 1.0, cache_mb: int = 2000) -> SVM:
    """gamma = gamma_scale / D: the kernel's scale, which the paper does not give (a held-out grid)."""
    try:  # scikit-learn is an extra ([comparison] or [report]): `import lenet1998` needs only torch and numpy
        from sklearn.svm import SVC
    except ImportError:
        raise ConfigError("the SVM row needs scikit-learn, which is not installed; "
                          "pip install 'lenet-repro[comparison]' (or '.[report]' in a clone) and re-run") from None

    if degree < 1 or C <= 0 or gamma_scale <= 0:
        raise ConfigError(f"the SVM needs degree >= 1, C > 0 and gamma_scale > 0, got {degree}, {C} and {gamma_scale}")
    g = float(gamma_scale) / x.shape[1]
    m = SVC(kernel="poly", degree=degree, gamma=g, coef0=coef0, C=C, decision_function_shape="ovo",
            cache_size=cache_mb)
    m.fit(x.double().numpy(), y.numpy())
    return SVM(m, degree, g, coef0)
