"""Training digits and distorted copies at each ranges factor of the distortion sweep (Sec. III-C):
distortions.png / .pdf."""

from __future__ import annotations

from pathlib import Path

import torch

from ..render import figures
from ..render.figures import NOTE_SIZE, WIDTH, plt, styled
from ..run.runner import Outcome


def figure(outcomes: list[Outcome], path: Path, data_root=None) -> Path | None:
    """On the first 8 training digits, when the report has faithful or distortion-sweep runs."""
    from lenet_repro import datasets

    if not any(o.item.experiment.group in ("faithful", "distortion-sweep") for o in outcomes):
        return None
    xtr, _ = datasets.load("mnist", "train", data_root)
    return examples(xtr[:8], path)


@styled
def examples(images: torch.Tensor, path: Path, n_digits: int = 8, copies: int = 3,
                        seed: int = 0) -> Path:
    """Rows: training digits; columns: the original, then `copies` random distortions per sweep factor."""
    from lenet1998.config import FAITHFUL
    from lenet1998.distortions import distortion_parameters, warp

    from ..run.plan import DISTORTION_FACTORS, distortion_label, distortion_overrides

    factors = [f for f in DISTORTION_FACTORS if f > 0]

    x = images[:n_digits].float() / 255.0  # (n, 28, 28) in [0, 1]
    cols = [("original", x)]
    for f in factors:
        cfg = FAITHFUL.replace(**distortion_overrides(f), distortion_copies=copies)
        p = distortion_parameters(cfg, seed, n_digits)  # (copies, n, 5)
        cols += [None] + [(f"x{f:g}" if c == 0 else "", warp(x, p[c])) for c in range(copies)]  # None: a gap
    ratios = [0.3 if c is None else 1 for c in cols]
    cell = WIDTH / sum(ratios)
    height = n_digits * cell * 1.08 + 0.45
    fig, axes = plt.subplots(n_digits, len(cols), figsize=(WIDTH, height), squeeze=False,
                             gridspec_kw={"width_ratios": ratios})
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1 - 0.45 / height, wspace=0.08, hspace=0.08)
    for j, col in enumerate(cols):
        if col is None:
            for ax in axes[:, j]:
                ax.axis("off")
            continue
        title, imgs = col
        for i in range(n_digits):
            ax = axes[i, j]
            ax.imshow(imgs[i].numpy(), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            for s in ax.spines.values():
                s.set_linewidth(0.4)
        axes[0, j].set_title(title, fontsize=NOTE_SIZE, loc="left", pad=2)
    fig.suptitle(f"Distorted copies per factor; {distortion_label(1)}")
    return figures.save(fig, path)
