"""Fig. 6: LeNet-5 against the size of the training set (Sec. III-B).

"The influence of the training set size was measured by training the network with 15,000, 30,000,
and 60,000 examples. The resulting training error and test error are shown in figure 6." The figure
has three curves -- training error and test error without distortions, and test error "when more
training patterns are artificially generated using random distortions" (hollow squares) -- on axes
"Training Set Size (x1000)" 0-100 and "Error Rate (%)" 0-1.8. Its 15,000 / 30,000 values are not in
the text; only the 60,000 points are (test 0.95 % plain, 0.8 % distorted; training 0.35 %).

Ours: the `fig6` group (the faithful recipes on the first 15,000 or 30,000 training digits, 20 passes
over them) and, for 60,000, the faithful group's own runs. Training error: the final weights on the
undistorted training digits the run was trained on (a distorted run's originals).

Statistics (reports/verdicts/): failed runs are left out and named; a test-error point's 95 % interval
is THE ROW UNCERTAINTY (seeds + shared test digits), a training-error point's a t interval over seeds;
each point is compared with the next larger training set on seed-matched pairs by THE CHANGE RULE
(paired t, Holm over the table), and the 60,000 points with the paper's by THE VERDICT RULE.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lenet_repro.references import get_reference

from ..render import figures
from ..stats import rowruns
from ..run.runner import Outcome
from ..verdicts import change_verdict, format_p, holm, judge, mean_sd, paired, t_interval

CURVES = (("lenet5-1998", "train_error", "training error (no distortions)"),
          ("lenet5-1998", "test_error", "test error (no distortions)"),
          ("lenet5-1998-distortions", "test_error", "test error (with distortions)"))
PAPER_60K = {("lenet5-1998", "test_error"): "paper-fig9-lenet-5",
             ("lenet5-1998-distortions", "test_error"): "paper-fig9-dist-lenet-5",
             ("lenet5-1998", "train_error"): "paper-lenet5-train"}


def _runs(outcomes: list[Outcome], recipe: str) -> dict[int, list[dict]]:
    """Records of `recipe` in the fig6 and faithful groups by the number of training digits, one per seed."""
    out: dict[int, dict[int, dict]] = {}
    for o in outcomes:
        ex = o.item.experiment
        if o.record is None or ex.recipe != recipe or ex.group not in ("fig6", "faithful") or o.item.holdout:
            continue
        out.setdefault(o.record["final"]["train_n"], {}).setdefault(o.item.seed, o.record)
    return {n: list(by_seed.values()) for n, by_seed in sorted(out.items())}


def _paper(recipe: str, metric: str) -> float | None:
    ref = PAPER_60K.get((recipe, metric))
    return get_reference(ref).value if ref else None


def points(outcomes: list[Outcome]) -> list[dict]:
    """One row per (curve, training-set size) with good runs: mean, sd, 95 % interval, n, the failed runs,
    and (where the next larger size has runs on common seeds) the paired change to it."""
    rows = []
    for recipe, metric, label in CURVES:
        sizes = _runs(outcomes, recipe)
        split = {size: rowruns.split(recs) for size, recs in sizes.items()}
        for size, runs in split.items():
            if not runs.good:
                continue
            vals = [r["final"][metric] for r in runs.good]
            m, sd = mean_sd(vals)
            if metric == "test_error":
                e = runs.estimate
                lo, hi = e.lo, e.hi
            else:
                lo, hi = t_interval(vals) if len(vals) > 1 else (m, m)
            bigger = [s for s in split if s > size and split[s].good]
            vs = None
            if bigger:
                nxt = {s: {**r, "final": {**r["final"], "test_error": r["final"][metric]}}
                       for s, r in split[min(bigger)].good_by_seed().items()}
                mine = {s: {**r, "final": {**r["final"], "test_error": r["final"][metric]}}
                        for s, r in runs.good_by_seed().items()}
                vs = paired(mine, nxt)
            rows.append({"curve": label, "recipe": recipe, "metric": metric, "size": size, "mean": m, "sd": sd,
                         "lo": lo, "hi": hi, "n": len(vals), "failed": runs.failed_note(), "runs": runs,
                         "vs_next": vs, "next": min(bigger) if bigger else None})
    adj = holm([p["vs_next"].p if p["vs_next"] else float("nan") for p in rows])
    for p, a in zip(rows, adj):
        p["holm_p"] = a
    return rows


def table(outcomes: list[Outcome]) -> pd.DataFrame:
    rows = []
    for p in points(outcomes):
        ref_id = PAPER_60K.get((p["recipe"], p["metric"])) if p["size"] == 60_000 else None
        paper = get_reference(ref_id) if ref_id else None
        verdict = "-"
        if paper is not None and all(r["final"]["test_n"] == 10_000 for r in p["runs"].good):
            est = p["runs"].estimate if p["metric"] == "test_error" else None
            verdict = judge(paper, p["mean"], est).outcome if est is not None else "-"
        v = p["vs_next"]
        rows.append({"curve": p["curve"], "training digits": f"{p['size']:,}",
                     "ours %": f"{p['mean']:.2f} +- {p['sd']:.2f}" if p["n"] > 1 else f"{p['mean']:.2f}",
                     "95 % CI": f"{p['lo']:.2f} .. {p['hi']:.2f}" if p["n"] > 1 or p["metric"] == "test_error" else "-",
                     "seeds": p["n"] if not p["failed"] else f"{p['n']} ({p['failed']})",
                     "vs the next size (points, paired t)": (
                         f"{v.diff:+.2f} ({v.low:+.2f} .. {v.high:+.2f}) vs {p['next']:,}" if v and v.n > 1 else "-"),
                     "Holm p": format_p(p["holm_p"]) if v else "-",
                     "change": change_verdict(v, p["holm_p"]) if v else "-",
                     "paper %": f"{paper.value:g}" if paper is not None else "not in the text",
                     "verdict vs the paper": verdict})
    return pd.DataFrame(rows)


def figure(outcomes: list[Outcome], path: Path, data_root=None) -> Path | None:
    """Drawn like the paper's Fig. 6: error (%) vs training-set size (x1000), the distorted test error as
    hollow squares; ours with 95 % intervals (inside [0, 100] %), the paper's 60,000 points as crosses."""
    pts = points(outcomes)
    if not pts:
        return None
    from ..render.figures import COLORS, NARROW, integer_axis, interval_errs, plt, style

    with style():
        fig, ax = plt.subplots(figsize=(NARROW, 3.2), layout="constrained")
        look = {"training error (no distortions)": (COLORS["train"], "o", "full", "-"),
                "test error (no distortions)": (COLORS["test"], "s", "full", "-"),
                "test error (with distortions)": (COLORS["distorted"], "s", "none", ":")}
        for _, metric, label in CURVES:
            ps = [p for p in pts if p["curve"] == label]
            if not ps:
                continue
            color, marker, fill, line = look[label]
            ax.errorbar([p["size"] / 1000 for p in ps], [p["mean"] for p in ps],
                        yerr=interval_errs([(p["mean"], p["lo"], p["hi"]) for p in ps]), color=color,
                        marker=marker, ms=5, fillstyle=fill, capsize=3, linestyle=line, label=f"ours: {label}")
        for recipe, metric, label in CURVES:
            v = _paper(recipe, metric)
            if v is not None:
                ax.plot([60], [v], "x", color=look[label][0], markersize=8, mew=1.8)
        ax.plot([], [], "x", color="grey", markersize=8, mew=1.8, label="the paper at 60,000 (its text)")
        ax.set_xlim(0, 100)
        ax.set_ylim(0, max(1.8, max(p["hi"] for p in pts) * 1.1))
        integer_axis(ax.xaxis)
        ax.set_xlabel("Training Set Size (x1000)")
        ax.set_ylabel("Error Rate (%)")
        ax.legend(loc="upper right")
        ax.grid(True)
        return figures.save(fig, path)
