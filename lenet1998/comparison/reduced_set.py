"""The reduced-set SVM (Sec. III-C.11): "RS-SVM poly 5", 1.0 % in Fig. 9 (1.1 % in the text), 650,000
multiply-adds per recognition in Fig. 11.

"Burges and Schoelkopf ... the reduced set method ... a polynomial of degree 5 ... Using the reduced set
method, the computational cost was brought down to 650,000 multiply-adds per recognition, i.e. only about
60 % more expensive than a LeNet-4 ..." (Sec. III-C.11; the paper's [63], Burges & Schoelkopf 1997;
the method: Burges, "Simplified support vector decision rules", ICML 1996).

The method. Each of the ten binary SVMs (class c against the rest, svm.fit_one_vs_rest) is a vector
Psi = sum_i a_i Phi(x_i) in the kernel's feature space (a_i = y_i alpha_i over its support vectors). The
reduced set replaces it by Psi' = sum_a beta_a Phi(z_a) over m free vectors z_a of pixel space, chosen to
make the residual
    rho(Z, beta) = ||Psi - Psi'||^2 = a^T K_xx a - 2 beta^T K_zx a + beta^T K_zz beta
small (kernel values only: the feature space is never built). For fixed Z the best beta is the linear
solve K_zz beta = K_zx a (`best_beta`), which leaves rho*(Z) = a^T K_xx a - k^T K_zz^-1 k, k = K_zx a.
Burges' two phases:
  1. greedy (`phase1`): the z_a one at a time, each maximising (R . Phi(z))^2 / ||Phi(z)||^2, the part of
     the current residual R = Psi - sum_{b<a} beta_b Phi(z_b) that one vector can take (a non-convex search:
     started at the support vector that scores best, then L-BFGS; a search that gains nothing or lands on
     an earlier vector keeps its start); after each new vector every beta is re-solved;
  2. joint (`phase2`): all the z_a at once by L-BFGS on rho*(Z) (beta eliminated).
The classifier's bias is kept. The decision value sum_a beta_a K(z_a, x) + b costs m dot products of D
pixels, so the paper's 650,000 multiply-adds allow m = 650,000 // (10 x D) vectors per classifier (82 on
784 pixels: 642,880 multiply-adds in all).

Readings taken (unstated in the paper, ASSUMED): the input is the deskewed 28x28 image (the MNIST web page,
LeCun, Cortes & Burges: "Reduced Set SVM deg 5 polynomial | deskewing | 1.0"; rows.py "deslant-28x28"); the
kernel (gamma u.v + 1)^5 with gamma = 10 / D and C = 10 (svm-poly-4's held-out choices); ten one-vs-rest
classifiers (the setting of Burges & Schoelkopf); the L-BFGS budgets below. tests/test_svm_rows.py checks
the residual, the beta solve and both phases against an explicit feature map (a naive reference).
"""

from __future__ import annotations

import torch

from lenet_repro.errors import ConfigError

from .svm import Expansion, OneVsRest, fit_one_vs_rest, kernel, require_sklearn

PAPER_MULTIPLY_ADDS = 650_000  # Fig. 11 / Sec. III-C.11
PHASE1_ITERATIONS = 30  # L-BFGS iterations per greedy vector (each a few kernel rows)
PHASE2_ITERATIONS = 200  # L-BFGS iterations of the joint search over all vectors
JITTER = 1e-10  # K_zz + JITTER * mean(diag) I: two vectors that meet keep the solve defined
COND_MAX = 1e10  # a greedy vector that leaves K_zz worse conditioned than this has met an earlier one


def vectors_per_classifier(multiply_adds: int, dim: int, classes: int = 10) -> int:
    m = multiply_adds // (classes * dim)
    if m < 1:
        raise ConfigError(f"multiply_adds={multiply_adds} allows no vector of {dim} pixels per classifier; "
                          f"give at least {classes * dim}")
    return m


def best_beta(z: torch.Tensor, x: torch.Tensor, a: torch.Tensor, kp: tuple) -> torch.Tensor:
    """The beta minimising rho for fixed Z: K_zz beta = K_zx a. (m, D), (n, D), (n,) -> (m,)."""
    kzz = kernel(z, z, *kp)
    k = kernel(z, x, *kp) @ a
    return torch.linalg.solve(kzz + JITTER * kzz.diagonal().mean() * torch.eye(len(z), dtype=kzz.dtype), k)


def residual(z: torch.Tensor, beta: torch.Tensor, x: torch.Tensor, a: torch.Tensor, kp: tuple,
             psi_sq: torch.Tensor | None = None) -> torch.Tensor:
    """rho(Z, beta) = ||Psi - Psi'||^2 by kernel values (psi_sq: a^T K_xx a, when already known)."""
    if psi_sq is None:
        psi_sq = a @ kernel(x, x, *kp) @ a
    return psi_sq - 2 * beta @ (kernel(z, x, *kp) @ a) + beta @ kernel(z, z, *kp) @ beta


def _lbfgs(params: torch.Tensor, loss_fn, iterations: int) -> torch.Tensor:
    p = params.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([p], lr=1.0, max_iter=iterations, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-12, tolerance_change=1e-15, history_size=20)

    def closure():
        opt.zero_grad()
        v = loss_fn(p)
        v.backward()
        return v

    opt.step(closure)
    return p.detach()


def _ill(z: torch.Tensor, kp: tuple) -> bool:
    """Are the vectors' feature-space images nearly dependent (two vectors met)? K_zz's condition number."""
    return float(torch.linalg.cond(kernel(z, z, *kp))) > COND_MAX


def phase1(x: torch.Tensor, a: torch.Tensor, m: int, kp: tuple, iterations: int = PHASE1_ITERATIONS
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Burges' greedy phase: (Z (m, D), beta (m,)) for Psi = sum_i a_i Phi(x_i)."""
    kxx = kernel(x, x, *kp)                     # (n, n)
    diag = kxx.diagonal()
    zs, beta = [], torch.zeros(0, dtype=torch.float64)
    for _ in range(m):
        z_prev = torch.stack(zs) if zs else x[:0]
        r_on_x = kxx @ a - (kernel(x, z_prev, *kp) @ beta if zs else 0.0)  # R . Phi(x_j), (n,)
        start = x[int(torch.argmax(r_on_x ** 2 / diag))]

        def gain(z):  # minus the share of R that Phi(z) takes
            zz = z.unsqueeze(0)
            r = kernel(zz, x, *kp) @ a - (kernel(zz, z_prev, *kp) @ beta if zs else 0.0)
            return -(r ** 2).sum() / kernel(zz, zz, *kp).squeeze()

        z = _lbfgs(start, gain, iterations)
        if not float(gain(z)) <= float(gain(start)) or _ill(torch.stack(zs + [z]), kp):
            z = start  # the search ran off (no gain, or onto an earlier vector): keep its start, a support vector
        zs.append(z)
        beta = best_beta(torch.stack(zs), x, a, kp)
    return torch.stack(zs), beta


def phase2(z: torch.Tensor, x: torch.Tensor, a: torch.Tensor, kp: tuple, iterations: int = PHASE2_ITERATIONS
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Burges' joint phase: every z_a at once, L-BFGS on rho*(Z) (beta eliminated), from phase 1's Z."""
    def rho_star(zv):
        kzz = kernel(zv, zv, *kp)
        k = kernel(zv, x, *kp) @ a
        eye = torch.eye(len(zv), dtype=kzz.dtype)
        return -k @ torch.linalg.solve(kzz + JITTER * kzz.diagonal().mean().detach() * eye, k)

    z = _lbfgs(z, rho_star, iterations)
    return z, best_beta(z, x, a, kp)


def reduce(e: Expansion, m: int, kp: tuple) -> tuple[Expansion, dict]:
    """One binary classifier's reduced set of m vectors (phase 1 then phase 2), its bias kept; with the
    relative residuals after each phase (rho / ||Psi||^2)."""
    x, a = e.vectors, e.coef
    psi_sq = a @ kernel(x, x, *kp) @ a
    if m >= len(a):  # nothing to reduce: the support vectors themselves
        return Expansion(x.clone(), a.clone(), e.bias), {"phase1": 0.0, "phase2": 0.0}
    z1, b1 = phase1(x, a, m, kp)
    r1 = float(residual(z1, b1, x, a, kp, psi_sq) / psi_sq)
    z2, b2 = phase2(z1, x, a, kp)
    r2 = float(residual(z2, b2, x, a, kp, psi_sq) / psi_sq)
    if r2 > r1:  # L-BFGS never ends above its start; a solve's rounding could: keep the better one
        z2, b2, r2 = z1, b1, r1
    return Expansion(z2, b2, e.bias), {"phase1": r1, "phase2": r2}


def fit(x: torch.Tensor, y: torch.Tensor, degree: int = 5, C: float = 10.0, coef0: float = 1.0,
        gamma_scale: float = 10.0, multiply_adds: int = PAPER_MULTIPLY_ADDS, stage=None) -> OneVsRest:
    """The ten binary SVMs, then each one's reduced set; `stage` keeps every finished piece (stage.py)."""
    require_sklearn("RS-SVM")
    if degree < 1 or C <= 0 or gamma_scale <= 0:
        raise ConfigError(f"the RS-SVM needs degree >= 1, C > 0 and gamma_scale > 0, got {degree}, {C} and "
                          f"{gamma_scale}")
    x = x.double()
    gamma = float(gamma_scale) / x.shape[1]
    kp = (degree, gamma, coef0)
    m = vectors_per_classifier(multiply_adds, x.shape[1])
    full = fit_one_vs_rest(x, y, degree, gamma, coef0, C, stage)
    from .stage import piece

    def reduced_state(e):
        r, res = reduce(e, m, kp)
        return {**r.state(), "residuals": torch.tensor([res["phase1"], res["phase2"]], dtype=torch.float64)}

    states = [piece(stage, f"rs{c}", lambda e=e: reduced_state(e)) for c, e in enumerate(full)]
    reduced = [Expansion.from_state(s) for s in states]
    residuals = [dict(zip(("phase1", "phase2"), s["residuals"].tolist())) for s in states]
    details = {"support_vectors": [len(e.coef) for e in full], "vectors_per_classifier": m,
               "relative_residual_phase1": [r["phase1"] for r in residuals],
               "relative_residual_phase2": [r["phase2"] for r in residuals]}
    return OneVsRest(reduced, degree, gamma, coef0, details, first=OneVsRest(full, degree, gamma, coef0))
