"""The report's figures (matplotlib, written into `<out>/figures/` as PNG and, beside it, PDF).

1. learning_curves.png: training and test error vs pass for the faithful runs (the paper's Fig. 5 style).
2. misses.png: the misclassified test digits of the best faithful model, true -> predicted (Fig. 8 style).
3. rbf_bitmaps.png: the ten 7x12 RBF prototypes (Fig. 3 style).
4. activations.png: the textbook LeNet's first and second conv layer activations for a sweater
   (pullover) and a coat (the book's exercise).
5. textbook_curves.png: our textbook runs per epoch beside the book's own per-epoch curves.
6. distortions.png: training digits and distorted copies at each ranges factor of the distortion sweep.

Every figure of the report (these, and Fig. 6, Fig. 9 and the ablation waterfall drawn by fig6.py,
comparison_report.py and ablation_report.py) is drawn inside `style()` -- the one place that sets the
fonts, grid, colours (`COLORS`) and widths (`WIDTH`, `NARROW`) -- and written by `_save`: a PNG of
`DPI` dots per inch for REPORT.md and a vector PDF for a paper. Axes that count (passes, epochs) have
integer ticks (`integer_axis`), log axes plain-number ticks (`plain_log_axis`), and error bars of a
percentage are clipped to [0, 100] (`interval_errs`; `error_bar_spans` reads them back for the tests).
"""

from __future__ import annotations

import functools
import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from matplotlib.figure import FigureBase  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter  # noqa: E402

from lenet_repro.references import book_builds, book_plot_readings, headline_reference, reference_for  # noqa: E402

from ..run.plan import experiments  # noqa: E402
from ..run.runner import Outcome  # noqa: E402

# ---- the one style ---------------------------------------------------------------------------------

DPI = 200  # the PNG's resolution (the PDF is vector)
WIDTH = 7.0  # inches: a full-width figure (a page's text width)
NARROW = 4.6  # inches: a one-panel plot
COLORS = {
    "test": "tab:blue",  # test error / accuracy, ours
    "train": "tab:orange",  # training error, ours
    "distorted": "black",  # test error of a run trained with distortions (hollow squares, as the paper's Fig. 6)
    "ours": "tab:blue",  # our bar beside the paper's
    "paper": "0.78",  # the paper's bars
    "paper_line": "black",  # the paper's number as a line or marker
    "paper_train_line": "0.45",
    "book": "0.5",  # the book's builds
    "worse": "tab:red",  # a step that raises the error
    "better": "tab:green",  # a step that lowers it
    "start": "0.35",  # the 1998 end of the ablation ladder
    "end": "tab:purple",  # the textbook end
    "note": "0.45",  # small grey text: why a row has no measurement
}
NOTE_SIZE = 6.5  # points: the small grey notes in a row
MINOR_GRID_ALPHA = 0.12  # the log axes' minor grid lines (the major ones: STYLE["grid.alpha"])
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.framealpha": 0.9,
    "figure.titlesize": 9,
    "axes.linewidth": 0.8,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.2,
    "lines.markersize": 3,
    "errorbar.capsize": 2.5,
    "image.interpolation": "nearest",
    "savefig.dpi": DPI,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.04,
    "pdf.fonttype": 42,  # TrueType in the PDF: text stays text (searchable, editable)
}


def style():
    """The report's one figure style, as a context: draw and save every figure inside it."""
    return plt.rc_context(STYLE)


def _styled(fn):
    @functools.wraps(fn)
    def drawn(*args, **kwargs):
        with style():
            return fn(*args, **kwargs)
    return drawn


def _save(fig, path: Path) -> Path:
    """Write `fig` as `path` (PNG, DPI) and `path` with .pdf (vector) beside it; close it; return `path`."""
    from lenet_repro.atomic import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with style():
        for target, fmt, meta in ((path, "png", {"Software": None}),
                                  (path.with_suffix(".pdf"), "pdf", {"CreationDate": None})):
            with atomic_path(target) as tmp:  # no date or version stamped in: the same figure, the same bytes
                fig.savefig(tmp, format=fmt, dpi=DPI, bbox_inches="tight", metadata=meta)
    plt.close(fig)
    return path


def _plain(v: float, _pos=None) -> str:
    return f"{v:g}"


def plain_log_axis(axis, subs=(1, 2, 5)) -> None:
    """A log axis ticked 0.1, 0.2, 0.5, 1, 2, 5, ... in plain numbers (never 2x10^0), minor ticks unlabelled."""
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(_plain))
    axis.set_minor_locator(LogLocator(base=10, subs=tuple(range(1, 10))))
    axis.set_minor_formatter(NullFormatter())


def integer_axis(axis) -> None:
    """Ticks at whole numbers only (passes, epochs)."""
    axis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))


def interval_errs(points, low: float = 0.0, high: float = 100.0) -> list[list[float]]:
    """`[[below...], [above...]]` error-bar lengths of each (mean, lo, hi), the interval clipped to
    [low, high] (an error rate lies in [0, 100] %) and never inside-out; a missing end draws no bar."""
    below, above = [], []
    for m, lo, hi in points:
        lo = m if lo is None or math.isnan(lo) else min(max(lo, low), m)
        hi = m if hi is None or math.isnan(hi) else max(min(hi, high), m)
        below.append(m - lo)
        above.append(hi - m)
    return [below, above]


def error_bar_spans(fig_or_ax) -> list[tuple[float, float]]:
    """(low, high) in data units of every error bar drawn on a figure's (or one Axes') axes."""
    axes = fig_or_ax.axes if isinstance(fig_or_ax, FigureBase) else [fig_or_ax]
    out = []
    for ax in axes:
        for c in ax.containers:
            if not isinstance(c, ErrorbarContainer):
                continue
            for col in c.lines[2]:
                for seg in col.get_segments():
                    (x0, y0), (x1, y1) = seg[0], seg[-1]
                    vertical = x0 == x1 and (y0 != y1 or c.has_yerr)
                    a, b = (y0, y1) if vertical else (x0, x1)
                    out.append((min(a, b), max(a, b)))
    return out


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


# ---- the figures -----------------------------------------------------------------------------------

@_styled
def learning_curves(outcomes: list[Outcome], path: Path) -> Path | None:
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
        ax.set_title(_wrap(ex.label, 44 if len(present) < 3 else 32) + "\n" + said)
        ax.grid(True, which="major")
        ax.grid(True, which="minor", alpha=MINOR_GRID_ALPHA)
    axes[0, 0].set_ylabel("error (%)")
    handles = [Line2D([], [], color=COLORS["test"], marker="o", ms=3, label="test error (one line per seed)"),
               Line2D([], [], color=COLORS["train"], marker="s", ms=3, label="training error (one line per seed)"),
               Line2D([], [], color=COLORS["paper_line"], ls="--", lw=1, label="the paper's test error"),
               Line2D([], [], color=COLORS["paper_train_line"], ls=":", lw=1, label="the paper's training error")]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, frameon=False)
    return _save(fig, path)


@_styled
def misses_grid(outcome: Outcome, images: torch.Tensor, labels: torch.Tensor, path: Path, cols: int = 16) -> Path:
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
    return _save(fig, path)


@_styled
def rbf_bitmaps(path: Path) -> Path:
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
    return _save(fig, path)


@_styled
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
    picks = [("sweater\n(pullover)", int((labels == 2).nonzero()[0])), ("coat", int((labels == 4).nonzero()[0]))]
    cols = 17
    cell = WIDTH / cols
    height = 2 * len(picks) * cell * 1.3 + 0.3
    fig, axes = plt.subplots(2 * len(picks), cols, figsize=(WIDTH, height), squeeze=False)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1 - 0.3 / height, wspace=0.1, hspace=0.35)
    for ax in axes.flat:
        ax.axis("off")
    with torch.no_grad():
        for r, (name, i) in enumerate(picks):
            x = images[i:i + 1].float().div(255).unsqueeze(1)
            c1 = net[1](net[0](x))[0]  # (6, 28, 28) after the activation
            c2 = net[4](net[3](net[2](net[1](net[0](x)))))[0]  # (16, 10, 10)
            top, bottom = axes[2 * r], axes[2 * r + 1]
            top[0].imshow(x[0, 0].numpy(), cmap="gray_r")
            top[0].set_title(name, fontsize=NOTE_SIZE, pad=2)
            for k in range(c1.shape[0]):
                top[k + 1].imshow(c1[k].numpy(), cmap="viridis")
                top[k + 1].set_title(f"#{k}", fontsize=NOTE_SIZE - 0.5, pad=2)
            top[c1.shape[0] + 1].text(0.0, 0.5, f"\u2190 conv1: {c1.shape[0]} maps, {c1.shape[1]}x{c1.shape[2]}",
                                      transform=top[c1.shape[0] + 1].transAxes, ha="left", va="center",
                                      fontsize=NOTE_SIZE)
            for k in range(c2.shape[0]):
                bottom[k + 1].imshow(c2[k].numpy(), cmap="viridis")
                bottom[k + 1].set_title(f"#{k}", fontsize=NOTE_SIZE - 0.5, pad=2)
            bottom[0].text(1.0, 0.5, f"conv2:\n{c2.shape[0]} maps,\n{c2.shape[1]}x{c2.shape[2]} \u2192",
                           transform=bottom[0].transAxes, ha="right", va="center", fontsize=NOTE_SIZE)
    fig.suptitle(f"Activations of the textbook LeNet ({blob['recipe']}, seed {blob.get('seed')})")
    return _save(fig, path)


@_styled
def textbook_curves(outcomes: list[Outcome], path: Path) -> Path | None:
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
    return _save(fig, path)


@_styled
def distortion_examples(images: torch.Tensor, path: Path, n_digits: int = 8, copies: int = 3,
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
    return _save(fig, path)
