"""Rejection performance (Sec. III-D, Fig. 10): "percentage of test patterns that must be rejected to
achieve 0.5% error [...] The score used to decide upon the rejection of a pattern was the difference
between the scores of the top two classes."

The patterns with the smallest margins are rejected first; the error is counted over the accepted
patterns; the answer is the smallest number of rejected patterns r (as a % of all) for which
errors among the accepted <= target x accepted. Equal margins are rejected together (a threshold on
the score cannot separate them), so r only takes values at margin boundaries.
"""

from __future__ import annotations

import torch

from lenet_repro.errors import ConfigError


def margins(scores: torch.Tensor) -> torch.Tensor:
    """(N, C) scores (higher = more likely) -> (N,) top-1 minus top-2."""
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ConfigError(f"rejection needs (N, C >= 2) scores, got shape {tuple(scores.shape)}")
    top = torch.topk(scores.double(), 2, dim=1).values
    return top[:, 0] - top[:, 1]


def reject_rate(scores: torch.Tensor, labels: torch.Tensor, target: float = 0.5) -> float:
    """% of the patterns that must be rejected (smallest margins first) for the accepted ones to reach at
    most `target` % error (100.0 if even one accepted pattern is too many)."""
    if not 0 <= target < 100:
        raise ConfigError(f"the target error must be in [0, 100) %, got {target}")
    m = margins(scores)
    wrong = (scores.argmax(1) != labels).double()
    order = torch.argsort(m, stable=True)  # ascending margin: rejected first
    m, wrong = m[order], wrong[order]
    n = len(m)
    # errors among the accepted after rejecting the first r patterns: suffix sums
    suffix = torch.flip(torch.cumsum(torch.flip(wrong, [0]), 0), [0])  # suffix[r] = errors in m[r:]
    suffix = torch.cat([suffix, torch.zeros(1, dtype=suffix.dtype)])
    # r may only cut between different margins (or at 0 / n)
    cut = torch.ones(n + 1, dtype=torch.bool)
    cut[1:n] = m[1:] != m[:-1]
    for r in range(n + 1):
        if cut[r] and suffix[r] <= target / 100 * (n - r) + 1e-9:
            return 100.0 * r / n
    return 100.0
