"""The ablation waterfall: the forward ladder's test error after each step (mean and 95 % interval: seeds +
shared test digits), each step's change a bar from the previous step's mean, the two ends as full bars."""

from __future__ import annotations

from pathlib import Path

from ..render import figures
from . import ablations
from ..run.runner import Outcome
from ..stats import rowruns
from .ablations import ENDPOINT_1998, ENDPOINT_TEXTBOOK
from .table3 import errors, runs_of


def figure(outcomes: list[Outcome], path: Path, data_root=None) -> Path | None:
    """Test error after each forward step (95 % t interval over seeds), the step's change as a bar from the
    previous step's mean, the two endpoints as full bars."""
    rows = [(r, errors(runs_of(outcomes, r.id))) for r in ablations.rows() if r.group == "ladder"]
    rows = [(r, e) for r, e in rows if e]
    est = {r.id: rowruns.of(outcomes, r.id).estimate for r, _ in rows}
    if len(rows) < 2:
        return None
    from ..render.figures import COLORS, NOTE_SIZE, WIDTH, interval_errs, plt, style

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
        return figures.save(fig, path)
