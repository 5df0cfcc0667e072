"""Intervals for an error rate: one fit on n test digits, or a row of seeds on the same n digits.

- `clopper_pearson(k, n)`: the exact binomial interval of one fit's k misses (scipy.stats.binomtest).
- `row_estimate(records)`: a row's mean test error over its seeds with THE ROW UNCERTAINTY:

      se^2 = s^2 / k  +  var_i(q_i) / n

  where s is the sample sd of the k seeds' errors (seed-to-seed variance) and q_i the fraction of the
  seeds that miss test digit i (the digits are shared by every seed, so their sampling variance does not
  shrink with k: it is the variance of the mean over one set of n digits, counting each digit once with
  how often the seeds miss it). For one fit the first term is absent and the second is the binomial
  variance p (1 - p) / n. The 95 % interval is mean +- t(df) se with Welch-Satterthwaite's df (the seed
  term has k - 1 degrees of freedom, the digit term n - 1), clipped to [0, 100] %; one fit shows its exact
  Clopper-Pearson interval instead. Pooling k x n evaluations as if they were independent digits (the
  old "pooled binomial") is never used: it divides the digits' variance by k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

LEVEL = 0.95


def clopper_pearson(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Exact two-sided interval for a binomial proportion k/n (as fractions)."""
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (nan for fewer than two values; nan, nan for none)."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    m = sum(values) / n
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1)) if n > 1 else math.nan
    return m, sd


def clip(lo: float, hi: float, low: float = 0.0, high: float = 100.0) -> tuple[float, float]:
    return max(low, lo), min(high, hi)


def t_interval(values: Sequence[float], level: float = LEVEL, bounds=(0.0, 100.0)) -> tuple[float, float]:
    """Student-t interval of the mean of `values` (scipy.stats.t), clipped to `bounds`; the value itself when
    every value is equal; (nan, nan) for fewer than two values."""
    n = len(values)
    if n < 2:
        return math.nan, math.nan
    m, sd = mean_sd(values)
    if sd == 0:
        return m, m
    lo, hi = stats.t.interval(level, n - 1, loc=m, scale=sd / math.sqrt(n))
    return clip(float(lo), float(hi), *bounds)


def welch_df(parts: Sequence[tuple[float, float]]) -> float:
    """Welch-Satterthwaite degrees of freedom of a sum of variance components [(variance, df)]."""
    total = sum(v for v, _ in parts)
    denom = sum(v * v / d for v, d in parts if v > 0 and d > 0 and math.isfinite(d))
    if total == 0:
        return math.inf
    return math.inf if denom == 0 else total * total / denom


@dataclass(frozen=True)
class Estimate:
    """A row's test error (%) with THE ROW UNCERTAINTY (this module's docstring)."""
    value: float  # mean over the row's seeds, %
    se: float  # standard error, points of %
    df: float  # degrees of freedom of se (inf: a binomial fit)
    lo: float  # 95 % interval, inside [0, 100]
    hi: float
    runs: int  # seeds behind the value (failed ones excluded)
    n: int  # test digits of every run
    how: str  # "binomial" (one fit) or "seeds + digits" (a row of seeds)
    seed_var: float = 0.0  # the seed component s^2 / k, %^2
    digit_var: float = 0.0  # the digit component var_i(q_i) / n, %^2

    def interval(self) -> str:
        return f"{self.lo:.2f} .. {self.hi:.2f}"


def estimate_one(misses: int, n: int, exact: bool = True) -> Estimate:
    """One fit: k misses of n digits; its Clopper-Pearson interval (`exact`; else the normal one, for
    scans) and the binomial standard error."""
    if n <= 0 or not 0 <= misses <= n:
        raise ValueError(f"{misses} misses of {n} digits")
    p = misses / n
    if exact:
        lo, hi = clopper_pearson(misses, n)
    else:
        h = 1.959963984540054 * math.sqrt(p * (1 - p) / n)
        lo, hi = clip(p - h, p + h, 0.0, 1.0)
    var = 100 * 100 * p * (1 - p) / n
    return Estimate(100 * p, math.sqrt(var), math.inf, 100 * lo, 100 * hi, 1, n, "binomial", 0.0, var)


def estimate_seeds(missed: Sequence[Sequence[int]], n: int, level: float = LEVEL) -> Estimate:
    """A row of k >= 2 seeds evaluated on the same n digits, from each seed's missed digit indices."""
    k = len(missed)
    if k < 2:
        raise ValueError("estimate_seeds needs at least two seeds; use estimate_one for one fit")
    errs = [100 * len(m) / n for m in missed]
    mean, sd = mean_sd(errs)
    q = np.zeros(n)
    for m in missed:
        q[np.asarray(list(m), dtype=np.int64)] += 1
    q /= k
    seed_var = sd * sd / k
    digit_var = 100 * 100 * float(q.var(ddof=1)) / n
    se = math.sqrt(seed_var + digit_var)
    df = welch_df([(seed_var, k - 1), (digit_var, n - 1)])
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se if se > 0 else 0.0
    lo, hi = clip(mean - half, mean + half)
    return Estimate(mean, se, df, lo, hi, k, n, "seeds + digits", seed_var, digit_var)


def row_estimate(records: Sequence[dict]) -> Estimate | None:
    """THE ROW UNCERTAINTY of the test error of a row's (good) records; None for none. Records must share
    their test_n (a row is measured on one set of digits)."""
    if not records:
        return None
    ns = {int(r["final"]["test_n"]) for r in records}
    if len(ns) != 1:
        raise ValueError(f"a row's runs were evaluated on different numbers of digits: {sorted(ns)}")
    n = ns.pop()
    if len(records) == 1:
        return estimate_one(int(records[0]["final"]["test_misses"]), n)
    return estimate_seeds([r["test_misses_idx"] for r in records], n)
