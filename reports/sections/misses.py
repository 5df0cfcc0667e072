"""The test digits the best faithful model misses, true -> predicted (cf. the paper's Fig. 8): misses.png / .pdf."""

from __future__ import annotations

from pathlib import Path

import torch

from ..render import figures
from ..render.figures import NOTE_SIZE, WIDTH, plt, styled
from ..run.runner import Outcome


def figure(outcomes: list[Outcome], path: Path, data_root=None) -> Path | None:
    """The misses of the faithful run with the lowest test error."""
    from lenet_repro import datasets

    faithful = [o for o in outcomes if o.item.experiment.group == "faithful" and o.record]
    if not faithful:
        return None
    best = min(faithful, key=lambda o: o.record["final"]["test_error"])
    n = best.record["final"]["test_n"]
    xte, yte = datasets.load("mnist", "test", data_root)
    return grid(best, xte[:n], yte[:n], path)


@styled
def grid(outcome: Outcome, images: torch.Tensor, labels: torch.Tensor, path: Path, cols: int = 16) -> Path:
    rec = outcome.record
    idx, pred = rec["test_misses_idx"], rec.get("test_predictions_missed") or [None] * len(rec["test_misses_idx"])
    rows = max(1, (len(idx) + cols - 1) // cols)
    cell = WIDTH / cols
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH, rows * cell * 1.3 + 0.3), squeeze=False)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1 - 0.3 / (rows * cell * 1.3 + 0.3), wspace=0.08, hspace=0.35)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i, p in zip(axes.flat, idx, pred):
        ax.imshow(images[i].numpy(), cmap="gray_r")
        ax.set_title(f"{int(labels[i])} \u2192 {'?' if p is None else p}", fontsize=NOTE_SIZE, pad=2)
    fig.suptitle(f"The {len(idx)} test digits missed by {outcome.item.key} (true \u2192 predicted)")
    return figures.save(fig, path)
