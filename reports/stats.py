"""The statistics of the report and of `reports.check`, all from scipy's exact binomial test.

- Clopper-Pearson exact binomial interval for an error rate (k misses of n test digits);
- McNemar's exact test for two classifiers on the same test digits (only the discordant pairs count);
- mean and sample standard deviation over seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Collection, Iterable

from scipy import stats


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact two-sided interval for a binomial proportion k/n (as fractions)."""
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class McNemar:
    only_a: int  # digits missed by A but not by B
    only_b: int  # digits missed by B but not by A
    p_value: float  # exact two-sided binomial test on the discordant pairs


def mcnemar(pairs: Iterable[tuple[Collection[int], Collection[int]]]) -> McNemar:
    """Exact McNemar test from the missed test-digit indices of models A and B.

    `pairs` holds one (missed by A, missed by B) per pair of runs on the same test digits (e.g. one per
    seed); their discordant counts are summed, then tested once against p = 1/2 (scipy.stats.binomtest).
    """
    only_a = only_b = 0
    for missed_a, missed_b in pairs:
        a, b = set(missed_a), set(missed_b)
        only_a, only_b = only_a + len(a - b), only_b + len(b - a)
    n = only_a + only_b
    p = 1.0 if n == 0 else float(stats.binomtest(min(only_a, only_b), n, 0.5).pvalue)
    return McNemar(only_a, only_b, p)


def mean_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (nan for fewer than two values)."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    m = sum(values) / n
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1)) if n > 1 else math.nan
    return m, sd


def mean_ci(values: list[float], level: float = 0.95) -> tuple[float, float]:
    """Student-t interval for the mean over seeds (scipy.stats.t): the seed-to-seed spread included,
    which the pooled binomial interval leaves out. (nan, nan) for fewer than two values."""
    n = len(values)
    if n < 2:
        return math.nan, math.nan
    m, sd = mean_sd(values)
    if sd == 0:
        return m, m  # every seed equal: the interval is the value (scipy would return nan)
    lo, hi = stats.t.interval(level, n - 1, loc=m, scale=sd / math.sqrt(n))
    return float(lo), float(hi)
