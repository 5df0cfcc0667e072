"""THE CHANGE RULE: is one configuration's test error different from another's? The seed is the unit.

Two rows trained on the same seeds and evaluated on the same digits are compared on their seed-matched
pairs (seed s of one with seed s of the other; a pair is dropped when either run failed by THE FAILED-RUN
RULE, reports/verdicts/failures.py):

- the effect is the mean of the k paired differences (points of test error);
- its 95 % interval and p-value are the paired t test's (scipy.stats.ttest_rel), k - 1 degrees of freedom;
- over each table the p-values are Holm-adjusted (statsmodels.stats.multitest.multipletests, "holm");
- a difference is **resolved** when its Holm p is below ALPHA. Then its unadjusted p is below ALPHA too,
  so its 95 % interval excludes 0: no row is called significant while its interval contains 0. Otherwise
  the row says "not resolved with k seeds".

Seeds share the same 10,000 test digits, so pooling their digits as independent trials (a McNemar test on
discordant digits summed over seeds) measures the digits, not the change; it is kept as a descriptive
column (which digits one misses and the other gets), never as the verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Collection, Iterable, Mapping, Sequence

from scipy import stats

ALPHA = 0.05
MIN_PAIRS = 2  # a paired t needs two pairs; with fewer the change is "not resolved"


@dataclass(frozen=True)
class McNemar:
    only_a: int  # digits missed by A but not by B (summed over the pairs: descriptive)
    only_b: int
    p_value: float  # exact two-sided binomial test on the discordant digits: descriptive only


def mcnemar(pairs: Iterable[tuple[Collection[int], Collection[int]]]) -> McNemar:
    """Exact McNemar test on the discordant digits summed over the pairs (scipy.stats.binomtest). Its
    unit is the digit: descriptive, never the verdict on a change (this module's docstring)."""
    only_a = only_b = 0
    for missed_a, missed_b in pairs:
        a, b = set(missed_a), set(missed_b)
        only_a, only_b = only_a + len(a - b), only_b + len(b - a)
    n = only_a + only_b
    p = 1.0 if n == 0 else float(stats.binomtest(min(only_a, only_b), n, 0.5).pvalue)
    return McNemar(only_a, only_b, p)


@dataclass(frozen=True)
class Paired:
    n: int  # seed-matched pairs
    diff: float  # mean of (this - reference), points
    low: float  # 95 % paired t interval of the mean difference (nan with fewer than MIN_PAIRS pairs)
    high: float
    p: float  # paired t p-value, two-sided (nan with fewer than MIN_PAIRS pairs)
    only_ref: int  # test digits missed only by the reference (summed over the pairs: descriptive)
    only_this: int
    mcnemar_p: float  # descriptive
    seeds: tuple[int, ...] = ()

    def flipped(self) -> "Paired":
        """The same pairs, the other way round (reference - this)."""
        return Paired(self.n, -self.diff, -self.high, -self.low, self.p, self.only_this, self.only_ref,
                      self.mcnemar_p, self.seeds)


def paired_t(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """(low, high, p) of the paired t test of mean(a - b) (scipy.stats.ttest_rel); a zero-width interval
    and p = 0 (or 1 when the difference is 0) when every pair differs by the same amount."""
    d = [x - y for x, y in zip(a, b)]
    if len(d) < MIN_PAIRS:
        return math.nan, math.nan, math.nan
    if max(d) - min(d) <= 1e-12:
        m = sum(d) / len(d)
        return m, m, (1.0 if abs(m) <= 1e-12 else 0.0)
    t = stats.ttest_rel(a, b)
    ci = t.confidence_interval(0.95)
    return float(ci.low), float(ci.high), float(t.pvalue)


def paired(runs: Mapping[int, dict], ref: Mapping[int, dict]) -> Paired | None:
    """THE CHANGE RULE's statistics of `runs` against `ref` (seed -> good record), on the seeds both have
    and on the same test digits; None when they share no seed."""
    seeds = sorted(s for s in runs if s in ref and runs[s]["final"]["test_n"] == ref[s]["final"]["test_n"])
    if not seeds:
        return None
    a = [runs[s]["final"]["test_error"] for s in seeds]
    b = [ref[s]["final"]["test_error"] for s in seeds]
    lo, hi, p = paired_t(a, b)
    t = mcnemar((ref[s].get("test_misses_idx") or [], runs[s].get("test_misses_idx") or []) for s in seeds)
    return Paired(len(seeds), sum(x - y for x, y in zip(a, b)) / len(seeds), lo, hi, p, t.only_a, t.only_b,
                  t.p_value, tuple(seeds))


def fixed_vs_row(missed: Collection[int], n: int, ref: Mapping[int, dict]) -> Paired | None:
    """THE CHANGE RULE for one fixed fit (a classifier trained once, or a deterministic one: `missed`, the
    indices of the digits it misses among the same n test digits) against a row of seeds (`ref`: seed ->
    good record). The effect is the fit's error minus the row's mean; its standard error counts the row's
    seed spread (s^2 / k, as THE ROW UNCERTAINTY) and the digits' sampling of the per-digit difference
    (var_i(x_i - q_i) / n; x_i: the fit misses digit i, q_i: the share of the row's seeds that miss it), t
    with Welch-Satterthwaite df. The fit's own training variance is unknown, so the claim is about this
    fitted classifier, not the recipe that made it. None when `ref` has no run on n digits."""
    import numpy as np

    from .intervals import welch_df

    seeds = sorted(s for s in ref if int(ref[s]["final"]["test_n"]) == n)
    if not seeds:
        return None
    k = len(seeds)
    x = np.zeros(n)
    x[np.asarray(sorted(set(missed)), dtype=np.int64)] = 1.0
    q = np.zeros(n)
    for s in seeds:
        q[np.asarray(ref[s]["test_misses_idx"], dtype=np.int64)] += 1.0 / k
    errs = [100.0 * len(ref[s]["test_misses_idx"]) / n for s in seeds]
    diff = 100.0 * float(x.mean() - q.mean())
    seed_var = float(np.var(errs, ddof=1)) / k if k > 1 else 0.0
    digit_var = 100.0 * 100.0 * float(np.var(x - q, ddof=1)) / n
    se = math.sqrt(seed_var + digit_var)
    t = mcnemar((ref[s]["test_misses_idx"], missed) for s in seeds)
    if k < MIN_PAIRS or se == 0:
        lo = hi = p = math.nan
        if se == 0 and k >= MIN_PAIRS:
            lo = hi = diff
            p = 1.0 if diff == 0 else 0.0
        return Paired(k, diff, lo, hi, p, t.only_a, t.only_b, t.p_value, tuple(seeds))
    df = welch_df([(seed_var, k - 1), (digit_var, n - 1)])
    half = float(stats.t.ppf(0.975, df)) * se
    p = float(2 * stats.t.sf(abs(diff) / se, df))
    return Paired(k, diff, diff - half, diff + half, p, t.only_a, t.only_b, t.p_value, tuple(seeds))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values over one table (statsmodels); nan stays nan and is not counted."""
    from statsmodels.stats.multitest import multipletests

    idx = [i for i, p in enumerate(pvalues) if not math.isnan(p)]
    out = [math.nan] * len(pvalues)
    if idx:
        adj = multipletests([pvalues[i] for i in idx], method="holm")[1]
        for i, p in zip(idx, adj):
            out[i] = float(p)
    return out


def resolved(holm_p: float) -> bool:
    return not math.isnan(holm_p) and holm_p < ALPHA


def change_verdict(p: Paired | None, holm_p: float) -> str:
    """One phrase: "higher" / "lower" (resolved, Holm p < ALPHA) or "not resolved with k seeds"."""
    if p is None:
        return "no common seeds"
    if p.n < MIN_PAIRS:
        return f"not resolved with {p.n} seed{'s' * (p.n != 1)}"
    if resolved(holm_p):
        return "higher" if p.diff > 0 else "lower"
    return f"not resolved with {p.n} seeds"


def format_p(p: float) -> str:
    """A p-value as printed everywhere: '< 0.001' below a thousandth, else two significant digits."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "-"
    return "< 0.001" if p < 0.001 else f"{p:.2g}"
