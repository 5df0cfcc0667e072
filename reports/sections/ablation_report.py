"""The ablation study's results (issue 11), from the run records only: the four tables with paired
statistics, the waterfall of the forward ladder, the gap between the two ends explained, the users'
questions answered, the Xavier row explained, and every table as CSV and LaTeX.

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
from pathlib import Path

import pandas as pd
from scipy import stats as sps

from . import ablations
from ..stats import rowruns
from ..render.latex import escape
from .ablations import BY_KEY, ENDPOINT_1998, ENDPOINT_TEXTBOOK, REFERENCE_END
from ..run.runner import Outcome
from ..verdicts import ALPHA, Paired, change_verdict, format_p, holm, mean_sd, paired, resolved


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


def numeric_table(outcomes: list[Outcome], group: str) -> pd.DataFrame:
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


def _latex(df: pd.DataFrame, caption: str, label: str) -> str:
    """A booktabs table of the numeric ablation table (reports/render/latex.py)."""
    from ..render.latex import booktabs

    cols = {"row": "Row", "seeds": "$n$", "test_error_mean": "Error (\\%)", "test_error_sd": "sd",
            "diff_vs_reference": "$\\Delta$", "ci_low": "CI low", "ci_high": "CI high", "holm_p": "$p_\\mathrm{Holm}$",
            "verdict": "Verdict"}
    return booktabs(df, cols, caption, label, pvalues=("holm_p",))


# ---- the gap explained -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Contribution:
    key: str
    forward: Paired | None  # the change's step on the forward ladder (all of that step's good pairs)
    backward: Paired | None  # its revert step on the backward ladder, sign flipped (the effect of adding it)
    alone_1998: Paired | None  # alone on the 1998 network
    alone_textbook: Paired | None  # the textbook network minus the change, sign flipped
    forward_common: float = math.nan  # the forward step on the seeds common to every forward step
    backward_common: float = math.nan  # the same for the backward ladder

    @property
    def average(self) -> float:
        xs = [x for x in (self.forward_common, self.backward_common) if not math.isnan(x)]
        return sum(xs) / len(xs) if xs else math.nan

    @property
    def orders(self) -> list[float]:
        """The change's effect in every order measured: forward, backward, alone on 1998, alone on textbook."""
        return [p.diff for p in (self.forward, self.backward, self.alone_1998, self.alone_textbook) if p]


@dataclass(frozen=True)
class LadderSum:
    """A ladder's steps on the seeds that every one of its rows has good runs for: the steps telescope, so
    they sum exactly to this ladder's own gap (textbook - 1998) on those seeds."""
    group: str
    seeds: tuple[int, ...]
    gap: float
    steps: dict  # change key -> effect of adding the change (points)

    def share(self, key: str) -> float:
        return 100 * self.steps[key] / self.gap if key in self.steps and self.gap else math.nan


def ladder_sum(outcomes: list[Outcome], group: str) -> LadderSum | None:
    rows = [r for r in ablations.rows() if r.group == group]
    runs = [runs_of(outcomes, r.id) for r in rows]
    if not rows or any(not x for x in runs):
        return None
    common = tuple(sorted(set.intersection(*[set(x) for x in runs])))
    if not common:
        return None
    sign = 1 if REFERENCE_END[group] == ENDPOINT_1998 else -1  # backward: a step reverts a change

    def mean(x):
        return sum(x[s]["final"]["test_error"] for s in common) / len(common)

    steps = {}
    for prev, cur, r in zip(runs, runs[1:], rows[1:]):
        if r.change:
            steps[r.change] = sign * (mean(cur) - mean(prev))
    return LadderSum(group, common, sign * (mean(runs[-1]) - mean(runs[0])), steps)


def contributions(outcomes: list[Outcome]) -> list[Contribution]:
    fwd = {s.row.change: s for s in group_stats(outcomes, "ladder") if s.row.change}
    back = {s.row.change: s for s in group_stats(outcomes, "ladder-back") if s.row.change}
    a98 = {s.row.change: s for s in group_stats(outcomes, "alone-1998")}
    atb = {s.row.change: s for s in group_stats(outcomes, "alone-textbook")}
    lf, lb = ladder_sum(outcomes, "ladder"), ladder_sum(outcomes, "ladder-back")
    out = []
    for c in ablations.CHANGES:
        out.append(Contribution(
            c.key, fwd[c.key].vs_prev if c.key in fwd else None,
            back[c.key].vs_prev.flipped() if c.key in back and back[c.key].vs_prev else None,
            a98[c.key].vs_ref if c.key in a98 else None,
            atb[c.key].vs_ref.flipped() if c.key in atb and atb[c.key].vs_ref else None,
            lf.steps.get(c.key, math.nan) if lf else math.nan,
            lb.steps.get(c.key, math.nan) if lb else math.nan))
    return out


def gap(outcomes: list[Outcome]) -> Paired | None:
    """The textbook end against the 1998 end, over their common good seeds."""
    return paired(runs_of(outcomes, ENDPOINT_TEXTBOOK), runs_of(outcomes, ENDPOINT_1998))


def contributions_table(outcomes: list[Outcome]) -> pd.DataFrame:
    lf, lb = ladder_sum(outcomes, "ladder"), ladder_sum(outcomes, "ladder-back")
    rows = []
    for c in contributions(outcomes):
        ch = BY_KEY[c.key]

        def cell(p):
            return f"{p.diff:+.2f} ({_f(p.low, sign=True)} .. {_f(p.high, sign=True)})" if p else "-"

        orders = c.orders
        rows.append({"change": f"{ch.what}: {ch.old} -> {ch.new}", "forward step": cell(c.forward),
                     "forward share": (f"{lf.share(c.key):.0f} %" if lf and c.key in lf.steps else "-"),
                     "backward step": cell(c.backward),
                     "backward share": (f"{lb.share(c.key):.0f} %" if lb and c.key in lb.steps else "-"),
                     "alone on 1998": cell(c.alone_1998), "alone on textbook": cell(c.alone_textbook),
                     "range over the orders": (f"{min(orders):+.2f} .. {max(orders):+.2f}" if orders else "-")})
    rows.append({"change": "sum (the ladder's own gap on its common seeds)", "forward step": "",
                 "forward share": (f"{sum(lf.share(k) for k in lf.steps):.0f} % of {lf.gap:+.2f}" if lf else "-"),
                 "backward step": "",
                 "backward share": (f"{sum(lb.share(k) for k in lb.steps):.0f} % of {lb.gap:+.2f}" if lb else "-"),
                 "alone on 1998": "", "alone on textbook": "", "range over the orders": ""})
    return pd.DataFrame(rows)


def gap_paragraph(outcomes: list[Outcome]) -> str:
    """The generated paragraph: how much of each ladder's own gap each change accounts for, that the
    attribution depends on the order, and how much is interaction."""
    g = gap(outcomes)
    e98, etb = errors(runs_of(outcomes, ENDPOINT_1998)), errors(runs_of(outcomes, ENDPOINT_TEXTBOOK))
    if not g or not e98 or not etb:
        return "_(the gap needs both endpoints' runs)_"
    cs = contributions(outcomes)
    m98, mtb = sum(e98) / len(e98), sum(etb) / len(etb)
    f98, ftb = rowruns.of(outcomes, ENDPOINT_1998).failed_note(), rowruns.of(outcomes, ENDPOINT_TEXTBOOK).failed_note()
    parts = [f"The textbook network (d2l classic on MNIST, in the 1998 code) misses {mtb:.2f} % of the test digits "
             f"({len(etb)} good seeds{'; ' + ftb if ftb else ''}), the faithful LeNet-5 {m98:.2f} % ({len(e98)} good "
             f"seeds{'; ' + f98 if f98 else ''}): {mtb / m98:.1f} times as many; the gap is {g.diff:+.2f} points over "
             f"{g.n} seed-matched pairs (paired t 95 % CI {_f(g.low, sign=True)} .. {_f(g.high, sign=True)}, "
             f"p {_p(g.p)})."]
    parts.append("How the gap divides among the changes depends on the order in which they are made: a change's "
                 "effect is measured against whatever else has changed already, and the changes interact. So each "
                 "ladder's shares are its own, on its own seeds, and the table gives both side by side with the range "
                 "of each change's effect over the four orders measured (forward, backward, alone on either end).")
    for group, name in (("ladder", "forward"), ("ladder-back", "backward")):
        ls = ladder_sum(outcomes, group)
        if not ls:
            parts.append(f"The {name} ladder has a step without good runs: its shares cannot be computed.")
            continue
        top = sorted(ls.steps, key=lambda k: -abs(ls.steps[k]))[:3]
        named = "; ".join(f"{BY_KEY[k].what} ({BY_KEY[k].old} -> {BY_KEY[k].new}) {ls.steps[k]:+.2f} points, "
                          f"{ls.share(k):.0f} %" for k in top)
        parts.append(f"The {name} ladder, on the {len(ls.seeds)} seeds every step has ({', '.join(map(str, ls.seeds))}), "
                     f"goes from one end to the other by {ls.gap:+.2f} points; its steps sum to that (100 %); the largest: "
                     f"{named}.")
    wide = sorted((c for c in cs if len(c.orders) >= 2), key=lambda c: -(max(c.orders) - min(c.orders)))[:3]
    if wide:
        parts.append("The changes whose effect depends most on the order: " + "; ".join(
            f"{BY_KEY[c.key].what} {min(c.orders):+.2f} .. {max(c.orders):+.2f} points" for c in wide) + ".")
    failed_rows = [s.row.id for grp in ("alone-1998", "alone-textbook") for s in group_stats(outcomes, grp)
                   if s.failed]
    if failed_rows:
        parts.append(f"Rows with failed runs (left out of their row's mean and pairs): {', '.join(failed_rows)}; where "
                     f"every seed of a row failed, one change alone breaks the network, which is interaction in its "
                     f"plainest form, and the row has no effect to add up.")
    a = [c.alone_1998.diff for c in cs if c.alone_1998]
    t = [c.alone_textbook.diff for c in cs if c.alone_textbook]
    if len(a) == len(cs):
        inter = g.diff - sum(a)
        parts.append(f"Each change alone on the 1998 network adds up to {sum(a):+.2f} points: if the changes were "
                     f"additive that would be the gap, so {inter:+.2f} points are interaction.")
    elif a:
        parts.append(f"Each change alone on the 1998 network: {len(a)} of {len(cs)} rows have good runs to add up.")
    if len(t) == len(cs):
        inter = g.diff - sum(t)
        parts.append(f"Reverting each change alone on the textbook network recovers {sum(t):+.2f} points in all "
                     f"(interaction measured from that end: {inter:+.2f} points).")
    elif t:
        parts.append(f"Each change alone reverted on the textbook network: {len(t)} of {len(cs)} rows have good runs.")
    return " ".join(parts)


def waterfall(outcomes: list[Outcome], path: Path) -> Path | None:
    """Test error after each forward step (95 % t interval over seeds), the step's change as a bar from the
    previous step's mean, the two endpoints as full bars."""
    rows = [(r, errors(runs_of(outcomes, r.id))) for r in ablations.rows() if r.group == "ladder"]
    rows = [(r, e) for r, e in rows if e]
    est = {r.id: rowruns.of(outcomes, r.id).estimate for r, _ in rows}
    if len(rows) < 2:
        return None
    from ..render.figures import COLORS, NOTE_SIZE, WIDTH, _save, interval_errs, plt, style

    with style():
        fig, ax = plt.subplots(figsize=(WIDTH, 3.5), layout="constrained")
        prev = None
        for i, (r, e) in enumerate(rows):
            m = sum(e) / len(e)
            lo, hi = (est[r.id].lo, est[r.id].hi) if est[r.id] else (m, m)
            err = interval_errs([(m, lo, hi)])  # inside [0, 100] %
            lo, hi = m - err[0][0], m + err[1][0]
            end = r.id in (ENDPOINT_1998, ENDPOINT_TEXTBOOK)
            if end or prev is None:
                ax.bar(i, m, width=0.6, color=COLORS["start"] if r.id == ENDPOINT_1998 else COLORS["end"])
                top = True
            else:
                ax.bar(i, m - prev, bottom=prev, width=0.6, color=COLORS["worse"] if m > prev else COLORS["better"])
                top = m >= prev
            ax.errorbar(i, m, yerr=err, fmt="o", color="k", ms=3, capsize=3, elinewidth=0.9)
            # the value beside its marker, clear of the bar: above a rise's top, below a fall's interval
            ax.annotate(f"{m:.2f}", (i, hi if top else lo), textcoords="offset points", xytext=(0, 3 if top else -3),
                        ha="center", va="bottom" if top else "top", fontsize=NOTE_SIZE)
            prev = m
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(["1998\n(faithful)" if r.id == ENDPOINT_1998 else
                            (f"+ {r.change}\n= textbook" if r.id == ENDPOINT_TEXTBOOK else f"+ {r.change}")
                            for r, _ in rows], rotation=30, ha="right", rotation_mode="anchor")
        ax.set_ylim(0, ax.get_ylim()[1] * 1.05)
        ax.set_ylabel("test error (%)\nmean, 95 % interval (seeds + digits)")
        ax.set_title("From LeNet-5 (1998) to the textbook LeNet on MNIST, one change at a time")
        ax.grid(True, axis="y")
        return _save(fig, path)


# ---- the users' questions ------------------------------------------------------------------------

QUESTIONS = [  # (question, change key) -- the change's textbook side vs its 1998 side
    ("sigmoid vs scaled tanh", "sigmoid"),
    ("plain average pooling vs trainable subsampling", "avgpool"),
    ("full C3 vs the sparse Table I", "dense-c3"),
    ("RBF + MAP vs softmax", "softmax"),
]


def _effect_phrase(p: Paired | None, holm_p: float, where: str) -> str:
    if p is None:
        return f"{where}: not run"
    sig = resolved(holm_p)
    return (f"{where} {p.diff:+.2f} points (CI {_f(p.low, sign=True)} .. {_f(p.high, sign=True)}, Holm p {_p(holm_p)}"
            f"{'' if sig else f', not resolved with {p.n} seeds'})")


def _first_reason(failed: str) -> str:
    """'5 of 5 seeds failed (s0: it never predicts ...; s1: ...)' -> 'it never predicts ...' (seed 0's reason)."""
    inner = failed.split("(", 1)[1] if "(" in failed else failed
    return inner.split(";")[0].split(": ", 1)[-1].rstrip(")")


def _verdict(change: ablations.Change, a98: RowStats | None, atb: RowStats | None) -> str:
    """One line: which side is better, from the change's effect at both ends (THE CHANGE RULE: resolved =
    Holm p < ALPHA); an end whose row has no good run says so instead of giving an effect."""
    new, old = change.new, change.old
    ends, broken = [], []
    for s, flip, where in ((a98, 1, "the 1998 network"), (atb, -1, "the textbook network")):
        if s is None:
            continue
        if s.n == 0 and s.failed:
            broken.append(f"on {where} every seed of the row fails ({_first_reason(s.failed)}, seed 0)")
        elif s.vs_ref:
            ends.append((flip * s.vs_ref.diff, s.significant, where))
    if change.key == "sigmoid" and a98 is not None and a98.n == 0:
        broken[0] += ": a sigmoid cannot reach the -1 of the RBF codes"
    if not ends:
        return "; ".join(broken) or "not measured yet"
    sig = [(d, w) for d, s, w in ends if s]
    both = len(ends) == 2
    if len(sig) == len(ends) and all(d > 0 for d, _ in sig):
        v = f"{old} is better " + ("at both ends" if both else f"on {ends[0][2]}")
    elif len(sig) == len(ends) and all(d < 0 for d, _ in sig):
        v = f"{new} is better " + ("at both ends" if both else f"on {ends[0][2]}")
    elif not sig:
        v = "not resolved " + ("at either end" if both else f"on {ends[0][2]}") + " with these seeds"
    else:
        v = ("it depends on the rest of the network: "
             + ", ".join(f"{'worse' if d > 0 else 'better'} with {new} on {w}" + ("" if s else " (not resolved)")
                         for d, s, w in ends))
    return "; ".join([v] + broken)


def questions_table(outcomes: list[Outcome], c5_identity: str | None = None) -> pd.DataFrame:
    a98 = {s.row.change: s for s in group_stats(outcomes, "alone-1998")}
    atb = {s.row.change: s for s in group_stats(outcomes, "alone-textbook")}
    fwd = {s.row.change: s for s in group_stats(outcomes, "ladder") if s.row.change}
    rows = []
    for q, key in QUESTIONS:
        c = BY_KEY[key]
        s98, stb, sf = a98.get(key), atb.get(key), fwd.get(key)
        ev = [_effect_phrase(s98.vs_ref if s98 else None, s98.holm_p if s98 else math.nan,
                             f"alone on 1998 (alone-1998/{key})"),
              _effect_phrase(stb.vs_ref.flipped() if stb and stb.vs_ref else None, stb.holm_p if stb else math.nan,
                             f"alone on textbook (alone-textbook/{key}, sign: adding it)"),
              _effect_phrase(sf.vs_prev if sf else None, sf.holm_p_prev if sf else math.nan,
                             f"forward step {sf.row.step if sf else '?'}")]
        rows.append({"question": q, "evidence (textbook side minus 1998 side)": "; ".join(ev),
                     "verdict": _verdict(c, s98, stb)})
    rows.append({"question": "C5 as a convolution vs a dense layer on the flattened S4",
                 "evidence (textbook side minus 1998 side)": c5_identity or "-",
                 "verdict": "the same function (a 5x5 kernel on a 5x5 map is a full connection); only the "
                            "Xavier bound differs, because torch counts a convolution's fan-out as 25 x 120"})
    return pd.DataFrame(rows)


def c5_identity(data_root=None) -> str:
    """Measured on the shipped LeNet-5 and the 10,000 test digits: C5 as a convolution vs as a dense layer."""
    import torch
    import torch.nn.functional as F

    from lenet1998.pretrained import load as load_shipped
    from lenet1998.preprocessing import to_input
    from lenet_repro import datasets

    model, _ = load_shipped("lenet5")
    x, _y = datasets.load("mnist", "test", data_root)
    with torch.no_grad():
        t = model.trace(to_input(x, model.config.input_scaling))
        dense = F.linear(t.x4.flatten(1), model.C5.weight.reshape(120, -1), model.C5.bias)
        diff = float((dense - t.a5).abs().max())
        x5 = model.squash(dense)
        out = model.output(model.squash(model.F6(x5)))
        changed = int((model.predict(t.x0) != out.argmin(1)).sum())
    return (f"on the shipped LeNet-5 and all 10,000 test digits, C5 computed as a dense layer on the flattened S4 "
            f"differs from the convolution by at most {diff:.1e} (float32 rounding) and changes {changed} predictions")


# ---- the Xavier row explained --------------------------------------------------------------------

XAVIER_ROW = "alone-1998/xavier"
XAVIER_COLUMNS = [("book's init, SDLM", XAVIER_ROW), ("conv-fans Xavier, SDLM", "xavier/conv-fans"),
                  ("faithful init, SDLM", ENDPOINT_1998), ("book's init, online SGD", "xavier/d2l-online-sgd")]


def xavier_table(outcomes: list[Outcome]) -> pd.DataFrame:
    """Per pass, across the seeds every column has: test error and (SDLM) the fraction of rates at the cap
    eta/mu (h_kk ~ 0), overall and for the C5 and F6 weights; for the book's init under SDLM, the
    earlier conv-fans Xavier reading, the faithful init, and the book's init under plain online SGD."""
    cols = [(name, runs_of(outcomes, i)) for name, i in XAVIER_COLUMNS]
    cols = [(n, r) for n, r in cols if r]
    if not cols or not runs_of(outcomes, XAVIER_ROW):
        return pd.DataFrame()
    seeds = sorted(set.intersection(*[set(r) for _, r in cols]))
    if not seeds:
        return pd.DataFrame()
    passes = min(len(r[s]["metrics"]) for _, r in cols for s in seeds)
    rows = []
    for p in range(passes):
        row = {"pass": p + 1}
        for name, runs in cols:
            e = [runs[s]["metrics"][p]["test_error"] for s in seeds]
            row[f"{name}: test error %"] = f"{sum(e) / len(e):.2f} +- {mean_sd(e)[1]:.2f}" if len(e) > 1 else f"{e[0]:.2f}"
            cap = [runs[s]["metrics"][p].get("rate_capped") for s in seeds]
            if all(c is not None for c in cap):
                row[f"{name}: rates at eta/mu"] = f"{100 * sum(cap) / len(cap):.0f} %"
                per = [(runs[s].get("sdlm") or {}).get("capped_per_pass") or [] for s in seeds]
                for t in ("C5.weight", "F6.weight"):
                    vals = [x[p][t] for x in per if len(x) > p and t in x[p]]
                    if len(vals) == len(seeds):
                        row[f"{name}: {t} at eta/mu"] = f"{100 * sum(vals) / len(vals):.0f} %"
        rows.append(row)
    return pd.DataFrame(rows)


def xavier_paragraph(outcomes: list[Outcome]) -> str:
    xav, base = runs_of(outcomes, XAVIER_ROW), runs_of(outcomes, ENDPOINT_1998)
    seeds = sorted(s for s in xav if s in base)
    if not seeds or any(m.get("rate_capped") is None for s in seeds for m in xav[s]["metrics"]):
        return "_(the Xavier explanation needs the alone-1998/xavier runs with their per-pass rate diagnostics)_"

    def capped(runs, p):
        vals = [runs[s]["metrics"][p].get("rate_capped") for s in seeds]
        return None if None in vals else 100 * sum(vals) / len(vals)

    def pair(p):
        x, b = capped(xav, p), capped(base, p)
        return f"{x:.0f} % (faithful " + (f"{b:.0f} %)" if b is not None else "not recorded: its runs predate the diagnostic)")

    last = len(xav[seeds[0]]["metrics"]) - 1
    ex = [xav[s]["final"]["test_error"] for s in seeds]
    eb = [base[s]["final"]["test_error"] for s in seeds]
    bounds = init_bounds()
    smaller = ", ".join(f"{t.split('.')[0]} {b['d2l']:.3g} vs {b['faithful']:.3g}" for t, b in bounds.items())
    return (f"Over {len(seeds)} seeds the book's init under SDLM ends at {sum(ex) / len(ex):.2f} % "
            f"(range {min(ex):.2f} .. {max(ex):.2f}) against {sum(eb) / len(eb):.2f} % for the faithful init on the same "
            f"seeds. The fraction of SDLM rates at the cap eta/mu (h_kk <= mu/9: almost no curvature, so the largest "
            f"step): pass 1 {pair(0)}" + (f", pass 2 {pair(1)}" if last >= 1 else "") + f", last pass {pair(last)}. "
            f"h_kk of a weight is the squared input times the back-propagated curvature of its unit, which carries "
            f"f'(a)^2 of every squashed unit above it: it vanishes where those units saturate (f' ~ 0) or the inputs "
            f"are ~0. The weight bounds (Xavier with the book's fans vs 2.4/sqrt(F_i)): {smaller}. "
            + _xavier_others(outcomes) + "The table gives the figures per pass.")


def _xavier_others(outcomes: list[Outcome]) -> str:
    out = ""
    for name, i in XAVIER_COLUMNS[1:]:
        e = errors(runs_of(outcomes, i))
        if e and i != ENDPOINT_1998:
            out += f"The {name} ({i}, {len(e)} seeds) ends at {sum(e) / len(e):.2f} % (range {min(e):.2f} .. {max(e):.2f}). "
    return out


def init_bounds() -> dict[str, dict[str, float]]:
    """The uniform bound of each weight tensor under the book's init and under the faithful one."""
    import torch

    from lenet1998.config import FAITHFUL
    from lenet1998.initialization import d2l_bounds, lecun_bounds
    from lenet1998.model import LeNet5

    m = LeNet5(FAITHFUL, generator=torch.Generator().manual_seed(0))
    d2l, ours = d2l_bounds(m), lecun_bounds(m, sqrt=True)

    def one(v):
        return float(v.max()) if isinstance(v, torch.Tensor) else float(v)

    return {t: {"d2l": one(d2l[t]), "faithful": one(ours[t])}
            for t in ("C1.weight", "C3.weight", "C5.weight", "F6.weight")}


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
