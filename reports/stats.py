"""The statistics of the report and of `reports.check` (scipy).

- Clopper-Pearson exact binomial interval for an error rate (k misses of n test digits);
- McNemar's exact test for two classifiers on the same test digits (only the discordant pairs count);
- mean and sample standard deviation over seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact two-sided interval for a binomial proportion k/n (as fractions)."""
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n > 0, got k={k}, n={n}")
    alpha = 1 - level
    lo = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


@dataclass(frozen=True)
class McNemar:
    only_a: int  # digits missed by A but not by B
    only_b: int  # digits missed by B but not by A
    p_value: float  # exact two-sided binomial test on the discordant pairs


def mcnemar(missed_a: set[int] | list[int], missed_b: set[int] | list[int]) -> McNemar:
    """Exact McNemar test from the sets of missed test-digit indices of two models."""
    a, b = set(missed_a), set(missed_b)
    only_a, only_b = len(a - b), len(b - a)
    n = only_a + only_b
    p = 1.0 if n == 0 else float(stats.binomtest(min(only_a, only_b), n, 0.5).pvalue)
    return McNemar(only_a, only_b, min(1.0, p))


def mean_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (nan for fewer than two values)."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    m = sum(values) / n
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1)) if n > 1 else math.nan
    return m, sd
