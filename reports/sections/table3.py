"""Table 3, the ablation study between the two ends (reports/sections/ablations.py says which runs), from
the run records only: its five tables (one per group), as Markdown and as numbers for CSV and LaTeX, and the
textbook end beside the book's own code. The gap explained (gap.py), the waterfall (waterfall.py), the users'
questions (questions.py) and the Xavier row (xavier.py) build on its statistics.

Statistics, per row against its reference end (reports/sections/ablations.py REFERENCE_END) and, on a ladder,
against the previous step -- all by THE CHANGE RULE (reports/verdicts/changes.py), the seed as the unit:
- a run that failed (THE FAILED-RUN RULE: diverged, a class never predicted or recalled under half the
  run's accuracy, or far from its row's other seeds) is named and left out with its partner;
- mean +- sd of the test error over the row's good seeds;
- the mean paired difference with its 95 % paired t interval (scipy.stats.ttest_rel) and p-value;
- Holm-adjusted p-values across each table (statsmodels' multipletests, "holm");
- a difference is *resolved* when its Holm p is below ALPHA (printed with its value in the tables'
  note); otherwise the row says "not resolved with k seeds";
- McNemar's exact test on the discordant test digits summed over the pairs is a descriptive column only:
  the seeds share the same 10,000 digits, so it does not test a change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy import stats as sps

from . import ablations
from ..run.runner import Outcome
from ..stats import rowruns
from ..verdicts import Paired, change_verdict, format_p, holm, mean_sd, paired, resolved
from .ablations import ENDPOINT_1998, ENDPOINT_TEXTBOOK, REFERENCE_END


def runs_of(outcomes: list[Outcome], exp_id: str) -> dict[int, dict]:
    """seed -> record of an experiment's good (not failed) finished runs."""
    return rowruns.of(outcomes, exp_id).good_by_seed()


def errors(runs: dict[int, dict]) -> list[float]:
    return [r["final"]["test_error"] for _, r in sorted(runs.items())]


@dataclass(frozen=True)
class RowStats:
    row: ablations.Row
    n: int  # good seeds
    mean: float
    sd: float
    passes: int | None
    vs_ref: Paired | None
    holm_p: float
    vs_prev: Paired | None = None  # ladders: against the previous step (the step's own effect)
    holm_p_prev: float = math.nan
    failed: str = ""  # "k of n seeds failed (...)" or ""

    @property
    def significant(self) -> bool:
        """Resolved by THE CHANGE RULE (Holm p < ALPHA), so its interval excludes 0."""
        return resolved(self.holm_p)


def group_stats(outcomes: list[Outcome], group: str) -> list[RowStats]:
    """Every row of one group that has runs, with its statistics (Holm across the group's rows); a row all of
    whose runs failed is listed with n = 0 and its failure note."""
    rows = [r for r in ablations.rows() if r.group == group]
    ref = runs_of(outcomes, REFERENCE_END[group])
    partial, prev_runs = [], None
    for r in rows:
        split = rowruns.of(outcomes, r.id)
        runs = split.good_by_seed()
        if not split.n:
            prev_runs = None
            continue
        m, sd = mean_sd(errors(runs)) if runs else (math.nan, math.nan)
        vs_ref = (paired(runs, ref) if runs and r.id != REFERENCE_END[group] and r.applied != _end_applied(group)
                  else None)
        vs_prev = paired(runs, prev_runs) if group.startswith("ladder") and prev_runs and runs and r.step else None
        any_rec = next(iter(runs.values()), None) or split.failed[0][0]
        partial.append((r, len(runs), m, sd, len(any_rec["metrics"]), vs_ref, vs_prev, split.failed_note()))
        prev_runs = runs or None
    adj = holm([x[5].p if x[5] else math.nan for x in partial])
    adj_prev = holm([x[6].p if x[6] else math.nan for x in partial])
    return [RowStats(r, n, m, sd, passes, v, a, vp, ap, f) for (r, n, m, sd, passes, v, vp, f), a, ap
            in zip(partial, adj, adj_prev)]


def _end_applied(group: str) -> frozenset:
    return frozenset() if REFERENCE_END[group] == ENDPOINT_1998 else ablations.ALL


def _f(x: float, digits: int = 2, sign: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def _p(p: float) -> str:
    return format_p(p)


TITLES = {
    "ladder": "The forward ladder: from the faithful LeNet-5 (1998) to the textbook network, one change per step",
    "ladder-back": "The backward ladder: from the textbook network back to the faithful LeNet-5, one change reverted "
                   "per step",
    "alone-1998": "Each change alone on the faithful LeNet-5 (1998)",
    "alone-textbook": "Each change alone reverted on the textbook network",
    "ladder-back-tanh-first": "The first backward order tried: the scaled tanh back while the book's minibatch "
                              "SGD at lr 0.9 still runs (kept for the degeneracy it shows)",
}


def table(outcomes: list[Outcome], group: str) -> pd.DataFrame:
    """One ablation table (markdown-ready strings), rows in study order."""
    ref_name = "1998" if REFERENCE_END[group] == ENDPOINT_1998 else "textbook"
    rows = []
    for s in group_stats(outcomes, group):
        v = s.vs_ref
        seeds = f"{s.n}" + (f" ({s.failed})" if s.failed else "")
        row = {"row": s.row.label, "seeds": seeds, "passes": s.passes,
               "test error %": ("all failed" if not s.n else f"{s.mean:.2f} +- {_f(s.sd)}" if s.n > 1 else f"{s.mean:.2f}"),
               f"vs {ref_name} (points)": _f(v.diff, sign=True) if v else ("(reference)" if s.n else "-"),
               "95% CI (paired t)": f"{_f(v.low, sign=True)} .. {_f(v.high, sign=True)}" if v else "",
               "Holm p": _p(s.holm_p) if v else "", "verdict": change_verdict(v, s.holm_p) if v else "",
               f"missed only by {ref_name} / only by this (descriptive)": f"{v.only_ref} / {v.only_this}" if v else "",
               "McNemar p (descriptive)": _p(v.mcnemar_p) if v else ""}
        if group.startswith("ladder"):
            vp = s.vs_prev
            row["step effect (points)"] = _f(vp.diff, sign=True) if vp else ""
            row["step 95% CI"] = f"{_f(vp.low, sign=True)} .. {_f(vp.high, sign=True)}" if vp else ""
            row["step Holm p"] = _p(s.holm_p_prev) if vp else ""
            row["step verdict"] = change_verdict(vp, s.holm_p_prev) if vp else ""
        rows.append(row)
    return pd.DataFrame(rows)


def numeric(outcomes: list[Outcome], group: str) -> pd.DataFrame:
    """The same table as numbers (for CSV and LaTeX): one row per row of the study."""
    out = []
    for s in group_stats(outcomes, group):
        v, vp = s.vs_ref, s.vs_prev
        out.append({"id": s.row.id, "row": s.row.label, "seeds": s.n, "failed": s.failed, "passes": s.passes,
                    "test_error_mean": None if not s.n else round(s.mean, 4),
                    "test_error_sd": None if math.isnan(s.sd) else round(s.sd, 4),
                    "diff_vs_reference": None if not v else round(v.diff, 4),
                    "ci_low": None if not v or math.isnan(v.low) else round(v.low, 4),
                    "ci_high": None if not v or math.isnan(v.high) else round(v.high, 4),
                    "paired_t_p": None if not v else v.p, "holm_p": None if not v else s.holm_p,
                    "verdict": change_verdict(v, s.holm_p) if v else "",
                    "only_reference": None if not v else v.only_ref, "only_this": None if not v else v.only_this,
                    "mcnemar_p_descriptive": None if not v else v.mcnemar_p,
                    "step_effect": None if not vp else round(vp.diff, 4),
                    "step_holm_p": None if not vp else s.holm_p_prev,
                    "step_verdict": change_verdict(vp, s.holm_p_prev) if vp else ""})
    return pd.DataFrame(out)


def latex(df: pd.DataFrame, group: str) -> str:
    """`numeric`'s frame of one group as a booktabs table (reports/render/latex.py)."""
    from ..render.latex import booktabs

    cols = {"row": "Row", "seeds": "$n$", "test_error_mean": "Error (\\%)", "test_error_sd": "sd",
            "diff_vs_reference": "$\\Delta$", "ci_low": "CI low", "ci_high": "CI high", "holm_p": "$p_\\mathrm{Holm}$",
            "verdict": "Verdict"}
    return booktabs(df, cols, f"LeNet-5 ablation. {TITLES[group]}.", f"tab:ablation-{group}", text=("row",),
                    pvalues=("holm_p",))


def endpoint_agreement(outcomes: list[Outcome]) -> str:
    """The textbook end in the 1998 code beside `exercise-mnist` in the book's code (modern/train.py): the
    same network and recipe, other random streams, so the same distribution, not the same numbers (Welch's
    t test, scipy.stats.ttest_ind)."""
    ours = errors(runs_of(outcomes, ENDPOINT_TEXTBOOK))
    book = [o.record["final"]["test_error"] for o in outcomes
            if o.item.experiment.id == "textbook/exercise-mnist" and o.record]
    if not ours or not book:
        return "_(the textbook end and `exercise-mnist` are compared when both have runs)_"
    line = (f"The textbook end in the 1998 code: {sum(ours) / len(ours):.2f} +- {_f(mean_sd(ours)[1])} % "
            f"({len(ours)} seeds); `lenet train exercise-mnist` (the book's code, modern/train.py): "
            f"{sum(book) / len(book):.2f} +- {_f(mean_sd(book)[1])} % ({len(book)} seeds).")
    if len(ours) > 1 and len(book) > 1:
        t = sps.ttest_ind(ours, book, equal_var=False)
        ci = t.confidence_interval(0.95)
        line += (f" Difference {sum(ours) / len(ours) - sum(book) / len(book):+.2f} points (Welch 95 % CI "
                 f"{ci.low:+.2f} .. {ci.high:+.2f}, p {_p(float(t.pvalue))}): the two code paths draw their random "
                 f"numbers differently (init and order), so the comparison is of distributions; that they compute "
                 f"the same function is tested exactly.")
    return line
