"""The report's figures (matplotlib, written as PNG into `<out>/figures/`).

1. learning_curves.png: training and test error vs pass for the faithful runs (the paper's Fig. 5 style).
2. misses.png: the misclassified test digits of the best faithful model, true -> predicted (Fig. 8 style).
3. rbf_bitmaps.png: the ten 7x12 RBF prototypes (Fig. 3 style).
4. activations.png: the textbook LeNet's first and second conv layer activations for a sweater
   (pullover) and a coat (the book's exercise).
5. textbook_curves.png: our textbook runs per epoch beside the book's own per-epoch curves.
6. distortions.png: training digits and distorted copies at each ranges factor of the distortion sweep.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from lenet_repro.references import book_builds, book_plot_readings, headline_reference, reference_for  # noqa: E402

from .plan import experiments  # noqa: E402
from .runner import Outcome  # noqa: E402


def _save(fig, path: Path) -> Path:
    from lenet_repro.atomic import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)
    return path


def learning_curves(outcomes: list[Outcome], path: Path) -> Path | None:
    present = [ex for ex in experiments("faithful")
               if any(o.record for o in outcomes if o.item.experiment.id == ex.id)]
    if not present:
        return None
    fig, axes = plt.subplots(1, len(present), figsize=(6 * len(present), 4), squeeze=False)
    for ax, ex in zip(axes[0], present):
        for o in outcomes:
            if o.item.experiment.id != ex.id or not o.record:
                continue
            m = o.record["metrics"]
            passes = [r["pass"] for r in m]
            ax.plot(passes, [r["test_error"] for r in m], "-o", ms=3, color="C0", alpha=0.8,
                    label="test error" if o.item.seed == 0 else None)
            ax.plot(passes, [r["train_error"] for r in m], "-s", ms=3, color="C1", alpha=0.8,
                    label="training error" if o.item.seed == 0 else None)
        ref, train_ref = headline_reference(ex.recipe), reference_for(ex.recipe, "train_error")
        ax.axhline(ref.value, color="k", ls="--", lw=1, label=f"paper: {ref.value}% test")
        if train_ref:
            ax.axhline(train_ref.value, color="grey", ls=":", lw=1, label=f"paper: {train_ref.value}% training")
        ax.set_yscale("log")
        ax.set_xlabel("training pass")
        ax.set_ylabel("error (%)")
        ax.set_title(f"{ex.label} (one line per seed)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    return _save(fig, path)


def misses_grid(outcome: Outcome, images: torch.Tensor, labels: torch.Tensor, path: Path, cols: int = 16) -> Path:
    rec = outcome.record
    idx, pred = rec["test_misses_idx"], rec.get("test_predictions_missed") or [None] * len(rec["test_misses_idx"])
    rows = max(1, (len(idx) + cols - 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.8, rows * 0.95), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i, p in zip(axes.flat, idx, pred):
        ax.imshow(images[i].numpy(), cmap="gray_r")
        ax.set_title(f"{int(labels[i])}->{p}", fontsize=7)
    fig.suptitle(f"The {len(idx)} test digits missed by {outcome.item.key} (true->predicted)", fontsize=9)
    return _save(fig, path)


def rbf_bitmaps(path: Path) -> Path:
    from lenet1998.bitmaps import bitmap, min_hamming_distance

    fig, axes = plt.subplots(1, 10, figsize=(8, 1.8))
    for d, ax in enumerate(axes):
        ax.imshow(bitmap(d).numpy(), cmap="gray_r", vmin=-1, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(str(d))
    dist, pair = min_hamming_distance()
    fig.suptitle(f"RBF prototypes: 7x12 bitmaps, +1 ink / -1 background (closest pair {pair}: {dist} pixels)",
                 fontsize=8)
    return _save(fig, path)


def activations(checkpoint: Path, images: torch.Tensor, labels: torch.Tensor, path: Path) -> Path | None:
    """First and second conv layer activations of a textbook model for a pullover (2) and a coat (4)."""
    from lenet_repro.records import load_checkpoint, load_weights
    from modern.model import TextbookLeNet
    from modern.recipes import NetSpec

    blob = load_checkpoint(checkpoint)
    net_cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in blob["model_config"]["net"].items()}
    net = TextbookLeNet(NetSpec(**net_cfg))
    load_weights(net, blob["state_dict"], checkpoint)
    net.eval()
    picks = [("sweater (pullover)", int((labels == 2).nonzero()[0])), ("coat", int((labels == 4).nonzero()[0]))]
    fig, axes = plt.subplots(2 * len(picks), 17, figsize=(17, 2.2 * len(picks)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    with torch.no_grad():
        for r, (name, i) in enumerate(picks):
            x = images[i:i + 1].float().div(255).unsqueeze(1)
            c1 = net[1](net[0](x))[0]  # (6, 28, 28) after the activation
            c2 = net[4](net[3](net[2](net[1](net[0](x)))))[0]  # (16, 10, 10)
            axes[2 * r, 0].imshow(x[0, 0].numpy(), cmap="gray_r")
            axes[2 * r, 0].set_title(name, fontsize=8)
            for k in range(6):
                axes[2 * r, k + 1].imshow(c1[k].numpy(), cmap="viridis")
                axes[2 * r, k + 1].set_title(f"conv1 #{k}", fontsize=6)
            for k in range(16):
                axes[2 * r + 1, k + 1].imshow(c2[k].numpy(), cmap="viridis")
                axes[2 * r + 1, k + 1].set_title(f"conv2 #{k}", fontsize=6)
    fig.suptitle(f"Activations of the textbook LeNet ({blob['recipe']}, seed {blob.get('seed')})", fontsize=9)
    return _save(fig, path)


def textbook_curves(outcomes: list[Outcome], path: Path) -> Path | None:
    runs = {r: [o for o in outcomes if o.item.experiment.id == f"textbook/{r}" and o.record]
            for r in ("classic", "d2l-2nd")}
    if not any(runs.values()):
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    b = book_builds()
    ax.errorbar([10], [b.test_acc.median()], yerr=[[b.test_acc.median() - b.test_acc.min()],
                                                   [b.test_acc.max() - b.test_acc.median()]],
                fmt="ks", capsize=4, label=f"book: epoch-10 test acc over {len(b)} builds")
    for o in runs["classic"]:
        m = o.record["metrics"]
        ax.plot([r["epoch"] for r in m], [r["test_acc"] for r in m], "-o", ms=3, label=f"ours, seed {o.item.seed}")
    ax.set_title("classic recipe (the book prints only the final epoch)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax = axes[1]
    for k, row in enumerate(book_plot_readings().itertuples()):
        vals = [float(v) for v in row.val_acc_by_epoch.split()]
        ax.plot(range(1, len(vals) + 1), vals, color="grey", lw=0.7, alpha=0.5,
                label="book builds (plot readings)" if k == 0 else None)
    for o in runs["d2l-2nd"]:
        m = o.record["metrics"]
        ax.plot([r["epoch"] for r in m], [r["test_acc"] for r in m], "-o", ms=3, label=f"ours, seed {o.item.seed}")
    ax.set_title("2nd edition recipe: per-epoch curves")
    ax.set_xlabel("epoch")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def distortion_examples(images: torch.Tensor, path: Path, n_digits: int = 8, copies: int = 3,
                        seed: int = 0) -> Path:
    """Rows: training digits; columns: the original, then `copies` random distortions per sweep factor."""
    from lenet1998.config import FAITHFUL
    from lenet1998.distortions import distortion_parameters, warp

    from .plan import DISTORTION_FACTORS, distortion_label, distortion_overrides

    factors = [f for f in DISTORTION_FACTORS if f > 0]

    x = images[:n_digits].float() / 255.0  # (n, 28, 28) in [0, 1]
    cols = [("original", x)]
    for f in factors:
        cfg = FAITHFUL.replace(**distortion_overrides(f), distortion_copies=copies)
        p = distortion_parameters(cfg, seed, n_digits)  # (copies, n, 5)
        cols += [(f"x{f:g}" if c == 0 else "", warp(x, p[c])) for c in range(copies)]
    fig, axes = plt.subplots(n_digits, len(cols), figsize=(0.55 * len(cols), 0.6 * n_digits))
    for j, (title, imgs) in enumerate(cols):
        for i in range(n_digits):
            ax = axes[i, j]
            ax.imshow(imgs[i].numpy(), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, j].set_title(title, fontsize=7, loc="left")
    fig.suptitle(f"Distorted copies per factor; {distortion_label(1)}", fontsize=8)
    return _save(fig, path)
