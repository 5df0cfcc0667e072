"""The report's one figure style (matplotlib): every figure of the report -- each drawn by the section
file that owns it (reports/sections/: learning_curves.py, misses.py, rbf_bitmaps.py, activations.py,
textbook_curves.py, distortions.py, fig6.py, fig9.py, waterfall.py) -- is drawn inside `style()`, the
one place that sets the fonts, grid, colours (`COLORS`) and widths (`WIDTH`, `NARROW`), and written by
`save`: a PNG of `DPI` dots per inch for REPORT.md and, beside it, a vector PDF for a paper. Axes that
count (passes, epochs) have integer ticks (`integer_axis`), log axes plain-number ticks
(`plain_log_axis`), and error bars of a percentage are clipped to [0, 100] (`interval_errs`;
`error_bar_spans` reads them back for the tests).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from matplotlib.figure import FigureBase  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter  # noqa: E402

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


def styled(fn):
    """Decorate a drawing function so that it draws inside `style()`."""
    @functools.wraps(fn)
    def drawn(*args, **kwargs):
        with style():
            return fn(*args, **kwargs)
    return drawn


_FLAG = contextvars.ContextVar("lenet_figure_flag", default="--out")  # the option a bad path is blamed on


@contextlib.contextmanager
def writing_for(flag: str):
    """Inside it, a figure that cannot be written names `flag` (`--to` for one artefact, `--out` for a report)."""
    token = _FLAG.set(flag)
    try:
        yield
    finally:
        _FLAG.reset(token)


def save(fig, path: Path) -> Path:
    """Write `fig` as `path` (PNG, DPI) and `path` with .pdf (vector) beside it; close it; return `path`. A path
    that cannot be written is a one-line PathError naming the option it came from (`writing_for`)."""
    from lenet_repro.atomic import atomic_path, make_dirs

    path = Path(path)
    try:
        make_dirs(path.parent, _FLAG.get())
        with style():
            for target, fmt, meta in ((path, "png", {"Software": None}),
                                      (path.with_suffix(".pdf"), "pdf", {"CreationDate": None})):
                with atomic_path(target, _FLAG.get()) as tmp:  # no date or version stamped in: same figure, same bytes
                    fig.savefig(tmp, format=fmt, dpi=DPI, bbox_inches="tight", metadata=meta)
    finally:
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


def wrap(text: str, width: int) -> str:
    """`text` broken into lines of at most `width` characters (a panel's title)."""
    return "\n".join(textwrap.wrap(text, width)) or text
