"""The ten 7x12 RBF output prototypes (cf. the paper's Fig. 3), from lenet1998/bitmaps.py: rbf_bitmaps.png / .pdf."""

from __future__ import annotations

from pathlib import Path

from ..render import figures
from ..render.figures import WIDTH, plt, styled


@styled
def figure(outcomes, path: Path, data_root=None) -> Path:
    """Needs no run (`outcomes` is not read): the prototypes are the paper's fixed codes."""
    from lenet1998.bitmaps import bitmap, min_hamming_distance

    fig, axes = plt.subplots(1, 10, figsize=(WIDTH, 1.55))
    fig.subplots_adjust(left=0, right=1, bottom=0, top=0.72, wspace=0.15)
    for d, ax in enumerate(axes):
        ax.imshow(bitmap(d).numpy(), cmap="gray_r", vmin=-1, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(str(d), pad=2)
    dist, pair = min_hamming_distance()
    fig.suptitle(f"RBF prototypes: 7x12 bitmaps, +1 ink / -1 background (closest pair {pair}: {dist} pixels)")
    return figures.save(fig, path)
