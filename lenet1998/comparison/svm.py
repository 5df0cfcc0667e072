"""The polynomial support vector machine (Sec. III-C.11): "SVM poly 4", 1.1 % in Fig. 9.

"With a regular SVM, their error rate on the regular test set was 1.4%. Cortes and Vapnik had
reported an error rate of 1.1% with SVM on the same data using a slightly different technique. The
computational cost of this technique is very high: about 14 million multiply-adds per recognition."

scikit-learn's SVC (libsvm's SMO) fits it: writing an SMO solver by hand would be hundreds of lines
of a well-known algorithm. Readings taken (unstated in the paper): the kernel
K(u, v) = (gamma u.v + coef0)^degree on pixels in [0, 1] with gamma = gamma_scale / D (1 / D is
scikit-learn's "auto"; the scale is chosen on held-out digits, reports/sections/comparison.py), coef0 = 1, degree 4, C = 10, one-vs-one over the 45 class
pairs (libsvm's multiclass scheme: the prediction = the most votes, ties to the summed pairwise decision
values); Fig. 10's score = the decision value of the classifier between the two top candidates
(`SVM.scores`). The one-vs-rest machine below (ten binary classifiers, the paper's setting) serves the
RS-SVM and V-SVM rows; its score is the ten decision values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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

    def ranking(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """((N, 10) libsvm's votes plus the summed pairwise decisions scaled below one vote -- the order the
        prediction takes --, (N, 45) the pairwise decision values)."""
        d = self.pairwise_decisions(x)
        votes = torch.zeros(len(x), 10, dtype=torch.float64)
        margin = torch.zeros(len(x), 10, dtype=torch.float64)
        for k, (i, j) in enumerate(PAIRS):
            win_i = d[:, k] > 0
            votes[:, i] += win_i.double()
            votes[:, j] += (~win_i).double()
            margin[:, i] += d[:, k]
            margin[:, j] -= d[:, k]
        return votes + margin / (2 * (margin.abs().amax(1, keepdim=True) * 10 + 1e-12)), d

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Fig. 10's score, a confidence (issue 18): the predicted class a and the runner-up b in the ranking's
        order; a scores |d_ab| (the decision value of the a-vs-b classifier, the one that separates the two
        candidates) plus the runner-up's 0, every other class below, so that the top-two difference that
        rejection.py reads is |d_ab|. (The ranking's own top-two difference is a vote count: 89 % of the
        digits tie at 9 votes vs 8, so it cannot rank them.) The argmax is the ranking's."""
        rank, d = self.ranking(x)
        top = torch.topk(rank, 2, dim=1).indices                    # (N, 2): a, b
        index = {pair: k for k, pair in enumerate(PAIRS)}
        k = torch.tensor([index[(min(a, b), max(a, b))] for a, b in top.tolist()], dtype=torch.long)
        conf = d.gather(1, k.unsqueeze(1)).squeeze(1).abs()
        out = torch.full_like(rank, -1.0)
        rows = torch.arange(len(x))
        out[rows, top[:, 1]] = 0.0
        out[rows, top[:, 0]] = conf + 1e-12  # above the runner-up's 0 even where |d_ab| is 0
        return out

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.ranking(x)[0].argmax(1)


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


# ---- one-vs-rest (the paper's setting for the SVM rows it cites: ten binary classifiers) -----------------

@dataclass
class Expansion:
    """One binary classifier as a kernel expansion: f(x) = sum_a coef_a K(vectors_a, x) + bias, > 0 for
    the class. vectors (m, D) float64, coef (m,) float64."""
    vectors: torch.Tensor
    coef: torch.Tensor
    bias: float

    def decision(self, x: torch.Tensor, degree: int, gamma: float, coef0: float, chunk: int = 2000) -> torch.Tensor:
        """(N, D) -> (N,) float64."""
        out = [kernel(x[i:i + chunk], self.vectors, degree, gamma, coef0) @ self.coef + self.bias
               for i in range(0, len(x), chunk)]
        return torch.cat(out) if out else torch.zeros(0, dtype=torch.float64)

    def state(self) -> dict:
        return {"vectors": self.vectors, "coef": self.coef, "bias": torch.tensor(self.bias, dtype=torch.float64)}

    @staticmethod
    def from_state(s: dict) -> "Expansion":
        return Expansion(s["vectors"].double(), s["coef"].double(), float(s["bias"]))


@dataclass
class OneVsRest:
    """Ten binary classifiers, class c against the nine others; the prediction is the largest decision value
    and the scores are the decision values themselves (Fig. 10 rejects on the gap between the top two)."""
    machines: list[Expansion]
    degree: int
    gamma: float
    coef0: float
    details: dict = field(default_factory=dict)  # what the record keeps of the fit (sizes, residuals)
    first: "OneVsRest | None" = None  # the machine before the reduced set / the second fit (its error recorded)

    @property
    def parameters(self) -> int:  # stored: every classifier's vectors, coefficients and bias (Fig. 12)
        return int(sum(m.vectors.numel() + m.coef.numel() + 1 for m in self.machines))

    @property
    def multiply_adds(self) -> int:  # a dot product with every classifier's every vector (Fig. 11)
        return int(sum(m.vectors.numel() for m in self.machines))

    @property
    def vectors(self) -> int:
        return int(sum(len(m.coef) for m in self.machines))

    def scores(self, x: torch.Tensor) -> torch.Tensor:  # (N, D) -> (N, 10)
        return torch.stack([m.decision(x.double(), self.degree, self.gamma, self.coef0) for m in self.machines], 1)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.scores(x).argmax(1)


def fit_binary(x: torch.Tensor, positive: torch.Tensor, degree: int, gamma: float, coef0: float, C: float,
               cache_mb: int = 2000) -> Expansion:
    """libsvm's SMO (scikit-learn's SVC) on one binary problem: `positive` (N,) bool, x (N, D) float64."""
    from sklearn.svm import SVC

    if bool(positive.all()) or not bool(positive.any()):
        raise ConfigError("a binary SVM needs patterns of both sides; train on more digits (--train-subset)")
    m = SVC(kernel="poly", degree=degree, gamma=gamma, coef0=coef0, C=C, cache_size=cache_mb)
    m.fit(x.double().numpy(), positive.numpy().astype("int64"))  # classes_ = [0, 1]: > 0 favours the class
    return Expansion(torch.from_numpy(m.support_vectors_.copy()), torch.from_numpy(m.dual_coef_[0].copy()),
                     float(m.intercept_[0]))


def fit_one_vs_rest(x: torch.Tensor, y: torch.Tensor, degree: int, gamma: float, coef0: float, C: float,
                    stage=None) -> list[Expansion]:
    """The ten binary SVMs, class by class. `stage` (a Stage, or None) keeps each finished classifier so that
    an interrupted fit resumes where it stopped (the same classifiers: libsvm is deterministic)."""
    from .stage import piece

    return [Expansion.from_state(piece(stage, f"ovr{c}", lambda c=c: fit_binary(x, y == c, degree, gamma, coef0,
                                                                                 C).state()))
            for c in range(10)]


def require_sklearn(row: str) -> None:
    try:  # scikit-learn is an extra ([comparison] or [report]): `import lenet1998` needs only torch and numpy
        import sklearn  # noqa: F401
    except ImportError:
        raise ConfigError(f"the {row} row needs scikit-learn, which is not installed; "
                          "pip install 'lenet-repro[comparison]' (or '.[report]' in a clone) and re-run") from None
