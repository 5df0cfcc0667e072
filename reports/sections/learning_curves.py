"""Training and test error against the pass of every faithful run, one panel per faithful recipe, the
paper's numbers as lines (cf. the paper's Fig. 5): learning_curves.png / .pdf."""

from __future__ import annotations

from pathlib import Path

from matplotlib.lines import Line2D

from lenet_repro.references import headline_reference, reference_for

from ..render import figures
from ..render.figures import (COLORS, MINOR_GRID_ALPHA, WIDTH, integer_axis, plain_log_axis, plt, styled,
                              wrap)
from ..run.plan import experiments
from ..run.runner import Outcome


@styled
def figure(outcomes: list[Outcome], path: Path, data_root=None) -> Path | None:
    present = [ex for ex in experiments("faithful")
               if any(o.record for o in outcomes if o.item.experiment.id == ex.id)]
    if not present:
        return None
    fig, axes = plt.subplots(1, len(present), figsize=(WIDTH, 2.7), sharey=True, squeeze=False,
                             layout="constrained")
    for ax, ex in zip(axes[0], present):
        for o in outcomes:
            if o.item.experiment.id != ex.id or not o.record:
                continue
            m = o.record["metrics"]
            passes = [r["pass"] for r in m]
            ax.plot(passes, [r["test_error"] for r in m], "-o", ms=2, lw=0.9, color=COLORS["test"], alpha=0.75)
            ax.plot(passes, [r["train_error"] for r in m], "-s", ms=2, lw=0.9, color=COLORS["train"], alpha=0.75)
        ref, train_ref = headline_reference(ex.recipe), reference_for(ex.recipe, "train_error")
        ax.axhline(ref.value, color=COLORS["paper_line"], ls="--", lw=1)
        said = f"paper: {ref.value:g} % test"
        if train_ref:
            ax.axhline(train_ref.value, color=COLORS["paper_train_line"], ls=":", lw=1)
            said += f", {train_ref.value:g} % training"
        ax.set_yscale("log")
        plain_log_axis(ax.yaxis)
        integer_axis(ax.xaxis)
        ax.set_xlabel("training pass")
        ax.set_title(wrap(ex.label, 44 if len(present) < 3 else 32) + "\n" + said)
        ax.grid(True, which="major")
        ax.grid(True, which="minor", alpha=MINOR_GRID_ALPHA)
    axes[0, 0].set_ylabel("error (%)")
    handles = [Line2D([], [], color=COLORS["test"], marker="o", ms=3, label="test error (one line per seed)"),
               Line2D([], [], color=COLORS["train"], marker="s", ms=3, label="training error (one line per seed)"),
               Line2D([], [], color=COLORS["paper_line"], ls="--", lw=1, label="the paper's test error"),
               Line2D([], [], color=COLORS["paper_train_line"], ls=":", lw=1, label="the paper's training error")]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, frameon=False)
    return figures.save(fig, path)
