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
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lenet_repro.references import get_reference

from .runner import Outcome
from .stats import mean_ci, mean_sd

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
    """One row per (curve, training-set size) with runs: mean, sd, 95 % t interval, n."""
    rows = []
    for recipe, metric, label in CURVES:
        for size, recs in _runs(outcomes, recipe).items():
            vals = [r["final"][metric] for r in recs]
            m, sd = mean_sd(vals)
            lo, hi = mean_ci(vals) if len(vals) > 1 else (m, m)
            rows.append({"curve": label, "recipe": recipe, "metric": metric, "size": size, "mean": m, "sd": sd,
                         "lo": lo, "hi": hi, "n": len(vals)})
    return rows


def table(outcomes: list[Outcome]) -> pd.DataFrame:
    rows = []
    for p in points(outcomes):
        paper = _paper(p["recipe"], p["metric"]) if p["size"] == 60_000 else None
        rows.append({"curve": p["curve"], "training digits": f"{p['size']:,}",
                     "ours %": f"{p['mean']:.2f} +- {p['sd']:.2f}" if p["n"] > 1 else f"{p['mean']:.2f}",
                     "95 % CI": f"{p['lo']:.2f} .. {p['hi']:.2f}" if p["n"] > 1 else "-", "seeds": p["n"],
                     "paper %": f"{paper:g}" if paper is not None else "not in the text"})
    return pd.DataFrame(rows)


def figure(outcomes: list[Outcome], path: Path) -> Path | None:
    """Drawn like the paper's Fig. 6: error (%) vs training-set size (x1000), the distorted test error as
    hollow squares; ours with 95 % t intervals, the paper's 60,000 points as crosses."""
    pts = points(outcomes)
    if not pts:
        return None
    from .figures import _save, plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    style = {"training error (no distortions)": ("tab:blue", "o", "full"),
             "test error (no distortions)": ("tab:red", "s", "full"),
             "test error (with distortions)": ("black", "s", "none")}
    for _, metric, label in CURVES:
        ps = [p for p in pts if p["curve"] == label]
        if not ps:
            continue
        color, marker, fill = style[label]
        x = [p["size"] / 1000 for p in ps]
        y = [p["mean"] for p in ps]
        err = [[p["mean"] - p["lo"] for p in ps], [p["hi"] - p["mean"] for p in ps]]
        ax.errorbar(x, y, yerr=err, color=color, marker=marker, fillstyle=fill, capsize=3,
                    linestyle="-" if fill == "full" else ":", label=f"ours: {label}")
    for recipe, metric, label in CURVES:
        v = _paper(recipe, metric)
        if v is not None:
            ax.plot([60], [v], "x", color=style[label][0], markersize=9, mew=2)
    ax.plot([], [], "x", color="grey", label="the paper at 60,000 (its text)")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, max(1.8, max(p["hi"] for p in pts) * 1.1))
    ax.set_xlabel("Training Set Size (x1000)")
    ax.set_ylabel("Error Rate (%)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, path)
