"""The ablation study's results (issue 11), from the run records only: the four tables with paired
statistics, the waterfall of the forward ladder, the gap between the two ends explained, the users'
questions answered, the Xavier row explained, and every table as CSV and LaTeX.

Statistics, per row against its reference end (reports/ablations.py REFERENCE_END), on seed-matched
pairs (seed s of the row with seed s of the end):
- mean +- sd of the test error over the row's seeds;
- the mean difference with its 95 % paired t interval (scipy.stats.ttest_rel(...).confidence_interval);
- McNemar's exact test on the discordant test digits pooled over the pairs (reports/stats.py);
- Holm-adjusted p-values across each table (statsmodels.stats.multitest.multipletests, method "holm").
A difference is "significant" when its Holm-adjusted McNemar p is below ALPHA.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from scipy import stats as sps

from . import ablations
from .ablations import BY_KEY, ENDPOINT_1998, ENDPOINT_TEXTBOOK, REFERENCE_END
from .runner import Outcome
from .stats import mcnemar, mean_ci, mean_sd

ALPHA = 0.05
CHANCE = 80.0  # a row whose mean test error is above this is "at chance" (10 classes: 90 %)


def runs_of(outcomes: list[Outcome], exp_id: str) -> dict[int, dict]:
    """seed -> record of an experiment's finished runs."""
    return {o.item.seed: o.record for o in outcomes if o.item.experiment.id == exp_id and o.record}


def errors(runs: dict[int, dict]) -> list[float]:
    return [r["final"]["test_error"] for _, r in sorted(runs.items())]


@dataclass(frozen=True)
class Paired:
    n: int  # seed-matched pairs
    diff: float  # mean of (this - reference), points
    low: float  # 95 % paired t interval of the mean difference
    high: float
    only_ref: int  # test digits missed only by the reference (pooled over the pairs)
    only_this: int
    p: float  # McNemar exact, pooled discordant digits


def paired(runs: dict[int, dict], ref: dict[int, dict]) -> Paired | None:
    """This row against a reference on the seeds both have (None when they share none)."""
    seeds = sorted(s for s in runs if s in ref and runs[s]["final"]["test_n"] == ref[s]["final"]["test_n"])
    if not seeds:
        return None
    a = [runs[s]["final"]["test_error"] for s in seeds]
    b = [ref[s]["final"]["test_error"] for s in seeds]
    d = [x - y for x, y in zip(a, b)]
    lo = hi = math.nan
    if len(seeds) > 1 and max(d) - min(d) > 1e-9:
        ci = sps.ttest_rel(a, b).confidence_interval(0.95)
        lo, hi = float(ci.low), float(ci.high)
    elif len(seeds) > 1:  # every pair differs by the same amount: a degenerate (zero-width) interval
        lo = hi = sum(d) / len(d)
    t = mcnemar((ref[s]["test_misses_idx"], runs[s]["test_misses_idx"]) for s in seeds)
    return Paired(len(seeds), sum(d) / len(d), lo, hi, t.only_a, t.only_b, t.p_value)


def holm(pvalues: list[float]) -> list[float]:
    """Holm-adjusted p-values (statsmodels); nan stays nan."""
    from statsmodels.stats.multitest import multipletests

    idx = [i for i, p in enumerate(pvalues) if not math.isnan(p)]
    out = [math.nan] * len(pvalues)
    if idx:
        adj = multipletests([pvalues[i] for i in idx], method="holm")[1]
        for i, p in zip(idx, adj):
            out[i] = float(p)
    return out


@dataclass(frozen=True)
class RowStats:
    row: ablations.Row
    n: int
    mean: float
    sd: float
    passes: int | None
    vs_ref: Paired | None
    holm_p: float
    vs_prev: Paired | None = None  # ladders: against the previous step (the step's own effect)
    holm_p_prev: float = math.nan

    @property
    def significant(self) -> bool:
        return not math.isnan(self.holm_p) and self.holm_p < ALPHA


def group_stats(outcomes: list[Outcome], group: str) -> list[RowStats]:
    """Every row of one group that has runs, with its statistics (Holm across the group's rows)."""
    rows = [r for r in ablations.rows() if r.group == group]
    ref = runs_of(outcomes, REFERENCE_END[group])
    partial, prev_runs = [], None
    for r in rows:
        runs = runs_of(outcomes, r.id)
        if not runs:
            prev_runs = None
            continue
        m, sd = mean_sd(errors(runs))
        vs_ref = paired(runs, ref) if r.id != REFERENCE_END[group] and r.applied != _end_applied(group) else None
        vs_prev = paired(runs, prev_runs) if group.startswith("ladder") and prev_runs and r.step else None
        passes = len(next(iter(runs.values()))["metrics"])
        partial.append((r, len(runs), m, sd, passes, vs_ref, vs_prev))
        prev_runs = runs
    adj = holm([x[5].p if x[5] else math.nan for x in partial])
    adj_prev = holm([x[6].p if x[6] else math.nan for x in partial])
    return [RowStats(r, n, m, sd, passes, v, a, vp, ap) for (r, n, m, sd, passes, v, vp), a, ap
            in zip(partial, adj, adj_prev)]


def _end_applied(group: str) -> frozenset:
    return frozenset() if REFERENCE_END[group] == ENDPOINT_1998 else ablations.ALL


def _f(x: float, digits: int = 2, sign: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def _p(p: float) -> str:
    return "-" if p is None or math.isnan(p) else (f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}")


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
        row = {"row": s.row.label, "seeds": s.n, "passes": s.passes,
               "test error %": f"{s.mean:.2f} +- {_f(s.sd)}" if s.n > 1 else f"{s.mean:.2f}",
               f"vs {ref_name} (points)": _f(v.diff, sign=True) if v else "(reference)",
               "95% CI (paired t)": f"{_f(v.low, sign=True)} .. {_f(v.high, sign=True)}" if v else "",
               f"missed only by {ref_name} / only by this": f"{v.only_ref} / {v.only_this}" if v else "",
               "McNemar p": _p(v.p) if v else "", "Holm p": _p(s.holm_p) if v else ""}
        if group.startswith("ladder"):
            vp = s.vs_prev
            row["step effect (points)"] = _f(vp.diff, sign=True) if vp else ""
            row["step 95% CI"] = f"{_f(vp.low, sign=True)} .. {_f(vp.high, sign=True)}" if vp else ""
            row["step Holm p"] = _p(s.holm_p_prev) if vp else ""
        if s.mean > CHANCE:
            row["row"] += " [at chance]"
        rows.append(row)
    return pd.DataFrame(rows)


def numeric_table(outcomes: list[Outcome], group: str) -> pd.DataFrame:
    """The same table as numbers (for CSV and LaTeX): one row per row of the study."""
    out = []
    for s in group_stats(outcomes, group):
        v, vp = s.vs_ref, s.vs_prev
        out.append({"id": s.row.id, "row": s.row.label, "seeds": s.n, "passes": s.passes,
                    "test_error_mean": round(s.mean, 4), "test_error_sd": None if math.isnan(s.sd) else round(s.sd, 4),
                    "diff_vs_reference": None if not v else round(v.diff, 4),
                    "ci_low": None if not v or math.isnan(v.low) else round(v.low, 4),
                    "ci_high": None if not v or math.isnan(v.high) else round(v.high, 4),
                    "only_reference": None if not v else v.only_ref, "only_this": None if not v else v.only_this,
                    "mcnemar_p": None if not v else v.p, "holm_p": None if not v else s.holm_p,
                    "step_effect": None if not vp else round(vp.diff, 4),
                    "step_holm_p": None if not vp else s.holm_p_prev})
    return pd.DataFrame(out)


def _latex(df: pd.DataFrame, caption: str, label: str) -> str:
    """A booktabs table (\\toprule/\\midrule/\\bottomrule) through pandas' Styler."""
    cols = {"row": "Row", "seeds": "$n$", "test_error_mean": "Error (\\%)", "test_error_sd": "sd",
            "diff_vs_reference": "$\\Delta$", "ci_low": "CI low", "ci_high": "CI high", "holm_p": "$p_\\mathrm{Holm}$"}
    d = df[[c for c in cols if c in df.columns]].rename(columns=cols)
    return d.style.hide(axis="index").format(precision=3, na_rep="--").to_latex(
        hrules=True, caption=caption, label=label, position="t", position_float="centering")


def write_tables(outcomes: list[Outcome], out: Path) -> list[Path]:
    """Every ablation table as `<out>/tables/ablation-<group>.csv` and `.tex` (booktabs rules)."""
    from lenet_repro import atomic

    paths = []
    for group in ablations.GROUPS:
        df = numeric_table(outcomes, group)
        if df.empty:
            continue
        base = Path(out) / "tables" / f"ablation-{group}"
        base.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(base.with_suffix(".csv"), df.to_csv(index=False), flag="--out")
        tex = _latex(df.assign(row=df["row"].map(_tex_escape)), f"LeNet-5 ablation. {TITLES[group]}.",
                     f"tab:ablation-{group}")
        atomic.write_text(base.with_suffix(".tex"), tex, flag="--out")
        paths += [base.with_suffix(".csv"), base.with_suffix(".tex")]
    return paths


def _tex_escape(s: str) -> str:
    for a, b in (("\\", "\\textbackslash{}"), ("&", "\\&"), ("%", "\\%"), ("_", "\\_"), ("#", "\\#"),
                 ("->", "$\\to$"), ("+-", "$\\pm$")):
        s = s.replace(a, b)
    return s


# ---- the gap explained -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Contribution:
    key: str
    forward: Paired | None  # the change's step on the forward ladder
    backward: Paired | None  # its revert step on the backward ladder, sign flipped (the effect of adding it)
    alone_1998: Paired | None  # alone on the 1998 network
    alone_textbook: Paired | None  # the textbook network minus the change, sign flipped

    @property
    def average(self) -> float:
        xs = [p.diff for p in (self.forward, self.backward) if p]
        return sum(xs) / len(xs) if xs else math.nan


def _flip(p: Paired | None) -> Paired | None:
    if p is None:
        return None
    return Paired(p.n, -p.diff, -p.high, -p.low, p.only_this, p.only_ref, p.p)


def contributions(outcomes: list[Outcome]) -> list[Contribution]:
    fwd = {s.row.change: s for s in group_stats(outcomes, "ladder") if s.row.change}
    back = {s.row.change: s for s in group_stats(outcomes, "ladder-back") if s.row.change}
    a98 = {s.row.change: s for s in group_stats(outcomes, "alone-1998")}
    atb = {s.row.change: s for s in group_stats(outcomes, "alone-textbook")}
    out = []
    for c in ablations.CHANGES:
        out.append(Contribution(
            c.key, fwd[c.key].vs_prev if c.key in fwd else None,
            _flip(back[c.key].vs_prev) if c.key in back else None,
            a98[c.key].vs_ref if c.key in a98 else None,
            _flip(atb[c.key].vs_ref) if c.key in atb else None))
    return out


def gap(outcomes: list[Outcome]) -> Paired | None:
    """The textbook end against the 1998 end, over their common seeds."""
    return paired(runs_of(outcomes, ENDPOINT_TEXTBOOK), runs_of(outcomes, ENDPOINT_1998))


def contributions_table(outcomes: list[Outcome]) -> pd.DataFrame:
    g = gap(outcomes)
    rows = []
    for c in contributions(outcomes):
        ch = BY_KEY[c.key]

        def cell(p):
            return f"{p.diff:+.2f} ({_f(p.low, sign=True)} .. {_f(p.high, sign=True)})" if p else "-"

        rows.append({"change": f"{ch.what}: {ch.old} -> {ch.new}", "forward step": cell(c.forward),
                     "backward step": cell(c.backward), "alone on 1998": cell(c.alone_1998),
                     "alone on textbook": cell(c.alone_textbook), "mean of the two ladders": _f(c.average, sign=True),
                     "share of the gap": (f"{100 * c.average / g.diff:.0f} %" if g and g.diff and not math.isnan(c.average)
                                          else "-")})
    return pd.DataFrame(rows)


def gap_paragraph(outcomes: list[Outcome]) -> str:
    """The generated paragraph: which changes account for how much of the gap, and how much is interaction."""
    g = gap(outcomes)
    e98, etb = errors(runs_of(outcomes, ENDPOINT_1998)), errors(runs_of(outcomes, ENDPOINT_TEXTBOOK))
    if not g or not e98 or not etb:
        return "_(the gap needs both endpoints' runs)_"
    cs = contributions(outcomes)
    have = [c for c in cs if not math.isnan(c.average)]
    ranked = sorted(have, key=lambda c: -abs(c.average))
    top = [c for c in ranked if abs(c.average) >= 0.1 * abs(g.diff)][:4] or ranked[:2]
    m98, mtb = sum(e98) / len(e98), sum(etb) / len(etb)
    parts = [f"The textbook network (d2l classic on MNIST, in the 1998 code) misses {mtb:.2f} % of the test digits "
             f"({len(etb)} seeds), the faithful LeNet-5 {m98:.2f} % ({len(e98)} seeds): {mtb / m98:.1f} times as "
             f"many; the gap is {g.diff:+.2f} points over {g.n} seed-matched pairs (95 % CI {_f(g.low, sign=True)} .. "
             f"{_f(g.high, sign=True)}, McNemar p {_p(g.p)})."]
    if top:
        named = "; ".join(f"{BY_KEY[c.key].what} ({BY_KEY[c.key].old} -> {BY_KEY[c.key].new}) "
                          f"{c.average:+.2f} points, {100 * c.average / g.diff:.0f} % of the gap" for c in top)
        parts.append(f"Averaged over the two ladders (forward step and backward step of each change), the changes "
                     f"that account for most of it: {named}.")
    rest = [c for c in have if c not in top]
    if rest:
        parts.append(f"The other {len(rest)} changes together: {sum(c.average for c in rest):+.2f} points.")
    if len(have) == len(cs):
        ladder_sum = sum(c.average for c in cs)
        parts.append(f"(The two ladders' steps telescope: each sums to its own endpoints' difference on its seeds, "
                     f"here {ladder_sum:+.2f} on average.)")
    a = [c.alone_1998.diff for c in cs if c.alone_1998]
    t = [c.alone_textbook.diff for c in cs if c.alone_textbook]
    chance = [r.id for grp in ("alone-1998", "alone-textbook") for r in ablations.rows()
              if r.group == grp and (e := errors(runs_of(outcomes, r.id))) and sum(e) / len(e) > CHANCE]
    if chance:
        parts.append(f"The sums below include {len(chance)} rows at chance ({', '.join(chance)}): there one change "
                     f"alone breaks the network, which is interaction in its plainest form.")
    if len(a) == len(cs):
        inter = g.diff - sum(a)
        parts.append(f"Each change alone on the 1998 network adds up to {sum(a):+.2f} points: if the changes were "
                     f"additive that would be the gap, so {inter:+.2f} points ({100 * inter / g.diff:.0f} % of it) "
                     f"are interaction.")
    if len(t) == len(cs):
        inter = g.diff - sum(t)
        parts.append(f"Reverting each change alone on the textbook network recovers {sum(t):+.2f} points in all "
                     f"(interaction measured from that end: {inter:+.2f} points).")
    return " ".join(parts)


def waterfall(outcomes: list[Outcome], path: Path) -> Path | None:
    """Test error after each forward step (95 % t interval over seeds), the step's change as a bar from the
    previous step's mean, the two endpoints as full bars."""
    rows = [(r, errors(runs_of(outcomes, r.id))) for r in ablations.rows() if r.group == "ladder"]
    rows = [(r, e) for r, e in rows if e]
    if len(rows) < 2:
        return None
    import matplotlib.pyplot as plt

    from .figures import _save

    fig, ax = plt.subplots(figsize=(11, 4.8))
    prev = None
    for i, (r, e) in enumerate(rows):
        m = sum(e) / len(e)
        lo, hi = mean_ci(e) if len(e) > 1 else (m, m)
        end = r.id in (ENDPOINT_1998, ENDPOINT_TEXTBOOK)
        if end or prev is None:
            ax.bar(i, m, color="0.35" if r.id == ENDPOINT_1998 else "tab:purple", width=0.6)
        else:
            ax.bar(i, m - prev, bottom=prev, width=0.6, color="tab:red" if m > prev else "tab:green")
        ax.errorbar(i, m, yerr=[[m - lo], [hi - m]] if not math.isnan(lo) else None, fmt="o", color="k",
                    ms=3, capsize=3)
        ax.annotate(f"{m:.2f}", (i, max(m, hi if not math.isnan(hi) else m)), textcoords="offset points",
                    xytext=(0, 4), ha="center", fontsize=7)
        prev = m
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(["1998\n(faithful)" if r.id == ENDPOINT_1998 else
                        (f"+ {r.change}\n= textbook" if r.id == ENDPOINT_TEXTBOOK else f"+ {r.change}")
                        for r, _ in rows], fontsize=7, rotation=30, ha="right")
    ax.set_ylabel("test error % (mean, 95 % t interval over seeds)")
    ax.set_title("From LeNet-5 (1998) to the textbook LeNet on MNIST, one change at a time")
    ax.grid(axis="y", alpha=0.3)
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
    sig = not math.isnan(holm_p) and holm_p < ALPHA
    return (f"{where} {p.diff:+.2f} points (CI {_f(p.low, sign=True)} .. {_f(p.high, sign=True)}, Holm p {_p(holm_p)}"
            f"{'' if sig else ', not significant'})")


def _verdict(change: ablations.Change, a98: RowStats | None, atb: RowStats | None) -> str:
    """One line: which side is better, from the change's effect at both ends (significant = Holm p < ALPHA)."""
    effects = []
    for s, flip in ((a98, 1), (atb, -1)):
        if s and s.vs_ref:
            effects.append((flip * s.vs_ref.diff, s.significant, s.mean > CHANCE))
    if not effects:
        return "not measured yet"
    new, old = change.new, change.old
    if any(ch for _, _, ch in effects[:1]):
        first = ("on the 1998 network it leaves LeNet-5 at chance"
                 + (" (a sigmoid cannot reach the -1 of the RBF codes)" if change.key == "sigmoid" else ""))
    else:
        first = None
    sig = [(d, ch) for d, s, ch in effects if s]
    if len(sig) == len(effects) and all(d > 0 for d, _ in sig):
        v = f"{old} is better at both ends"
    elif len(sig) == len(effects) and all(d < 0 for d, _ in sig):
        v = f"{new} is better at both ends"
    elif not sig:
        v = "no difference we can detect at either end"
    else:
        v = ("it depends on the rest of the network: "
             + ", ".join(f"{'worse' if d > 0 else 'better'} with {new} {'on the 1998 network' if i == 0 else 'on the textbook network'}"
                         + ("" if s else " (not significant)") for i, (d, s, _) in enumerate(effects)))
    return v + (f"; {first}" if first else "")


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
              _effect_phrase(_flip(stb.vs_ref) if stb else None, stb.holm_p if stb else math.nan,
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
