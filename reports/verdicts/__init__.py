"""Every interval, test, verdict and the failed-run rule of the report and of `lenet check`, in one place
(issue 17). The tables, the README and `lenet check` call these and compute none of it themselves.

- failures.py  THE FAILED-RUN RULE: which runs did not train (never averaged into a row)
- intervals.py THE ROW UNCERTAINTY: one fit's binomial interval; a row of seeds' seed + digit interval
- published.py THE VERDICT RULE: a row against a published number (consistent / higher / lower /
               inconclusive)
- changes.py   THE CHANGE RULE: one configuration against another, the seed as the unit (paired t, Holm)

This package imports nothing above it (no report, no runner): records in, numbers out.
"""

from .changes import (ALPHA, McNemar, Paired, change_verdict, fixed_vs_row, format_p, holm, mcnemar, paired, paired_t,
                      resolved)
from .failures import Failure, failure, split_failed
from .intervals import Estimate, clopper_pearson, estimate_one, estimate_seeds, mean_sd, row_estimate, t_interval
from .published import (INFORMATIVE, Comparison, Judgement, compare, judge, published_se, reference_se,
                        single_run_window, within_range)

__all__ = ["ALPHA", "INFORMATIVE", "Comparison", "Estimate", "Failure", "McNemar", "Paired", "change_verdict",
           "Judgement", "clopper_pearson", "compare", "estimate_one", "judge", "reference_se", "estimate_seeds", "failure", "fixed_vs_row", "format_p", "holm",
           "mcnemar", "mean_sd", "paired", "paired_t", "published_se", "resolved", "row_estimate",
           "single_run_window", "split_failed", "t_interval", "within_range"]


def rule_paragraph() -> str:
    """The report's one paragraph stating the rules (generated from the constants, never typed twice)."""
    from . import changes, failures, published

    return (
        f"**How to read the verdicts.** A run has *failed* when its loss diverged, it never predicts some class, "
        f"it recalls some class under {failures.MIN_RECALL_FACTOR:g} x its own accuracy, or (with at least "
        f"{failures.MIN_PEERS} other seeds) it misses over {failures.OUTLIER_FACTOR:g} x its row's median and "
        f"{failures.OUTLIER_SIGMAS:g} Poisson sd more; failed runs are listed by seed and never averaged in. A row's "
        f"95 % interval counts the seeds' spread (s^2 / k) and the sampling of the shared test digits (var of "
        f"each digit's miss rate over the seeds / n), t with Welch-Satterthwaite df, inside [0, 100] %. Against a "
        f"published number p (its quoted uncertainty as one standard error, at least its binomial error on its own "
        f"test set): *higher* / *lower* when the 95 % interval of the difference excludes 0, *consistent* when it "
        f"contains 0 and its half-width is at most {published.INFORMATIVE:g} x p, else *inconclusive*. A change "
        f"between two configurations is judged on seed-matched pairs (paired t, Holm over each table, alpha = "
        f"{changes.ALPHA:g}; one fixed fit against a row of seeds: its difference from the row's mean with the "
        f"row's seed spread and the digits' sampling, as above): *resolved* when the Holm p is below alpha, else *not resolved with k seeds*; the "
        f"McNemar column (digits pooled over seeds) is descriptive only.")
