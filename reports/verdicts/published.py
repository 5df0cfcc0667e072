"""THE VERDICT RULE: our row against a published number. Used by the Fig. 9 table, Table 2, the README
and `lenet check`; nothing else decides "consistent".

Our row is an `Estimate` (reports/verdicts/intervals.py: one fit's binomial error, or a row of seeds'
seed + digit error). The published number p gets its own standard error:

- its quoted uncertainty, read as one standard error (a "two-sigma" bar is halved: `Reference.sigmas`),
- but never less than the binomial error of its own test-set size, sqrt(p (1 - p) / n_test): the
  paper's "about 0.1 %" (Fig. 9 caption) holds near 1 % error; at 3.6 % its 10,000 digits alone give
  0.19 points, at 12 % 0.32.

The difference d = ours - p has se = sqrt(se_ours^2 + se_p^2) and the 95 % interval d +- t(df) se
(Welch-Satterthwaite df; the published term counts as a binomial, infinite df). Three outcomes:

- **higher** / **lower**: the interval of d excludes 0;
- **consistent**: it contains 0 and is informative: its half-width is at most `INFORMATIVE` x p (it
  would tell p from a value half again as large, or half as small);
- **inconclusive**: it contains 0 but is wider than that: the data cannot tell.

The two are treated as independent although both were measured on the same 10,000 MNIST test digits:
that can only widen the interval (fewer "higher"/"lower" verdicts, more "inconclusive"), never invent a
difference. A run on a subset of the test digits is judged the same way, on its own n, and says so.
For the book's spread of builds (`kind` "spread") the rule is the spread itself: our value inside the
builds' min .. max is consistent, else higher / lower. For our own recorded rows (`kind` "ours") the
published interval is the row's 95 % prediction interval of one new run (reports/stats/own_references.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from .intervals import LEVEL, Estimate, clip, estimate_one, welch_df

INFORMATIVE = 0.5
OUTCOMES = ("consistent", "higher", "lower", "inconclusive")


def published_se(value_pct: float, quoted: float, n_test: int | None, sigmas: float = 1.0) -> float:
    """The published error's standard error in points: its quoted uncertainty (as `sigmas` standard
    errors) or the binomial error of its test-set size, whichever is larger."""
    se = quoted / sigmas if quoted else 0.0
    if n_test:
        p = value_pct / 100
        se = max(se, 100 * math.sqrt(max(p * (1 - p), 0.0) / n_test))
    return se


@dataclass(frozen=True)
class Comparison:
    outcome: str  # one of OUTCOMES
    ours: Estimate
    published: float
    published_se: float
    diff: float  # ours - published, points
    lo: float  # 95 % interval of the difference
    hi: float
    df: float

    @property
    def half_width(self) -> float:
        return (self.hi - self.lo) / 2


def compare(ours: Estimate, published: float, pub_se: float, level: float = LEVEL) -> Comparison:
    """THE VERDICT RULE (this module's docstring) for an error rate in %."""
    d = ours.value - published
    parts = [(ours.seed_var, ours.runs - 1 if ours.runs > 1 else math.inf), (ours.digit_var, ours.n - 1),
             (pub_se * pub_se, math.inf)]
    var = sum(v for v, _ in parts)
    se = math.sqrt(var)
    df = welch_df(parts)
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se if se > 0 else 0.0
    lo, hi = clip(d - half, d + half, -published, 100 - published)
    if lo > 0:
        outcome = "higher"
    elif hi < 0:
        outcome = "lower"
    elif half <= INFORMATIVE * published:
        outcome = "consistent"
    else:
        outcome = "inconclusive"
    return Comparison(outcome, ours, published, pub_se, d, lo, hi, df)


def single_run_window(published: float, pub_se: float, n: int = 10_000) -> tuple[float, float] | None:
    """The test errors (%) a single fit on n digits may have and still be called consistent with the
    published number by THE VERDICT RULE (scanned over every miss count), or None when none can."""
    ok = [k for k in range(n + 1) if compare(estimate_one(k, n, exact=False), published, pub_se).outcome == "consistent"]
    return (100 * ok[0] / n, 100 * ok[-1] / n) if ok else None


def within_range(value: float, low: float, high: float) -> str:
    """The rule for a range that our value itself must lie in (the book's builds; one new run against our
    own row's prediction interval): consistent inside, else higher / lower."""
    if value > high:
        return "higher"
    if value < low:
        return "lower"
    return "consistent"


@dataclass(frozen=True)
class Judgement:
    """THE VERDICT RULE's answer for one reference: the outcome, and the comparison behind it (None for a
    range rule: the book's spread, one of our own rows, an assumed tolerance)."""
    outcome: str
    comparison: Comparison | None
    low: float  # the range our value must lie in (range rules), or the published number's 95 % range
    high: float


def judge(ref, value: float, ours: Estimate | None) -> Judgement:
    """`ref` (lenet_repro.references.Reference) against our `value` and, for a published error rate, our
    `Estimate` of it. Range kinds ("spread", "single", "ours") compare the value itself with low .. high."""
    if ref.kind == "paper" and ours is not None and ref.metric.endswith("_error"):
        se = published_se(ref.value, ref.uncertainty, ref.test_n or None, ref.sigmas or 1.0)
        c = compare(ours, ref.value, se)
        return Judgement(c.outcome, c, ref.value - 1.96 * se, ref.value + 1.96 * se)
    return Judgement(within_range(value, ref.low, ref.high), None, ref.low, ref.high)


def reference_se(ref) -> float:
    """The published number's standard error by THE VERDICT RULE (points)."""
    return published_se(ref.value, ref.uncertainty, ref.test_n or None, ref.sigmas or 1.0)
