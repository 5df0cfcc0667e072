"""Our textbook runs per epoch beside the book's own per-epoch curves and its builds' final accuracy:
textbook_curves.png / .pdf."""

from __future__ import annotations

from pathlib import Path

from lenet_repro.references import book_builds, book_plot_readings

from ..render import figures
from ..render.figures import COLORS, WIDTH, integer_axis, plt, styled
from ..run.runner import Outcome


@styled
def figure(outcomes: list[Outcome], path: Path, data_root=None) -> Path | None:
    runs = {r: [o for o in outcomes if o.item.experiment.id == f"textbook/{r}" and o.record]
            for r in ("classic", "d2l-2nd")}
    if not any(runs.values()):
        return None
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 2.8), sharey=True, layout="constrained")
    ax = axes[0]
    b = book_builds()
    med = b.test_acc.median()
    ax.errorbar([10], [med], yerr=[[med - b.test_acc.min()], [b.test_acc.max() - med]],
                fmt="s", color=COLORS["paper_line"], ms=4, capsize=3,
                label=f"book: epoch-10 test accuracy,\nmedian and range of {len(b)} builds")
    for o in runs["classic"]:
        m = o.record["metrics"]
        ax.plot([r["epoch"] for r in m], [r["test_acc"] for r in m], "-o", label=f"ours, seed {o.item.seed}")
    ax.set_title("classic recipe (the book prints only the final epoch)")
    ax.set_ylabel("test accuracy")
    ax = axes[1]
    for k, row in enumerate(book_plot_readings().itertuples()):
        vals = [float(v) for v in row.val_acc_by_epoch.split()]
        ax.plot(range(1, len(vals) + 1), vals, color=COLORS["book"], lw=0.6, alpha=0.45,
                label="book builds (plot readings)" if k == 0 else None)
    for o in runs["d2l-2nd"]:
        m = o.record["metrics"]
        ax.plot([r["epoch"] for r in m], [r["test_acc"] for r in m], "-o", label=f"ours, seed {o.item.seed}")
    ax.set_title("2nd edition recipe: per-epoch curves")
    for ax in axes:
        ax.set_xlabel("epoch")
        integer_axis(ax.xaxis)
        ax.legend(loc="lower right")
        ax.grid(True)
    return figures.save(fig, path)
