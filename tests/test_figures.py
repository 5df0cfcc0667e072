"""The report's figures (each drawn by its own file of reports/sections/ in the one style of
reports/render/figures.py) on hand-made records: each is written as a PNG of at least 150 dpi and a
vector PDF beside it; counted axes (passes, epochs) have integer ticks; log axes are ticked in plain
numbers; a Fig. 9 row without a measurement says why in its row; no error bar leaves [0, 100] %."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest
import torch
from PIL import Image

from lenet_repro.references import get_reference
from reports.sections import comparison
from reports.render import figures
from reports.sections import (activations, distortions, learning_curves, misses, rbf_bitmaps, textbook_curves,
                               waterfall)
from reports.run.plan import Experiment, RunItem, experiments
from reports.run.runner import Outcome

EXPS = {e.id: e for e in experiments()}


@pytest.fixture
def drawn(monkeypatch):
    """Every figure handed to `save`, by file name (the figure functions return only the PNG's path)."""
    figs = {}
    save = figures.save

    def keep(fig, path):
        figs[Path(path).name] = fig
        return save(fig, path)

    monkeypatch.setattr(figures, "save", keep)  # the section files call it through the module
    return figs


def _written(path: Path | None) -> Path:
    assert path is not None and path.suffix == ".png" and path.stat().st_size > 1000
    dpi = Image.open(path).info.get("dpi", (0, 0))
    assert min(dpi) >= 149, dpi
    pdf = path.with_suffix(".pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1000
    return path


def _visible_ticks(axis) -> list[float]:
    lo, hi = sorted(axis.get_view_interval())
    return [t for t in axis.get_majorticklocs() if lo - 1e-9 <= t <= hi + 1e-9]


def _integer_ticks(axis) -> bool:
    ticks = _visible_ticks(axis)
    return len(ticks) >= 2 and all(float(t).is_integer() for t in ticks)


def _tick_labels(axis) -> list[str]:
    return axis.get_major_formatter().format_ticks(_visible_ticks(axis))


def _plain(labels: list[str]) -> bool:
    return bool(labels) and all(re.fullmatch(r"\d+(\.\d+)?", s) for s in labels)


def _in_percent_range(fig) -> list[tuple[float, float]]:
    spans = figures.error_bar_spans(fig)
    assert spans, "no error bar drawn"
    assert all(0 <= lo <= hi <= 100 for lo, hi in spans), spans
    return spans


# ---- the shared pieces -----------------------------------------------------------------------------

def test_save_writes_a_png_and_a_pdf_and_returns_the_png(tmp_path):
    with figures.style():
        fig, ax = figures.plt.subplots(figsize=(figures.NARROW, 2))
        ax.plot([1, 2], [3, 4])
    p = figures.save(fig, tmp_path / "sub" / "x.png")
    assert p == tmp_path / "sub" / "x.png"
    _written(p)


def test_error_bars_are_clipped_to_0_100_and_read_back():
    assert figures.interval_errs([(1.0, -2.0, 3.0), (99.0, 98.0, 104.0), (5.0, math.nan, None), (2.0, 2.5, 1.0)]) \
        == [[1.0, 1.0, 0.0, 0.0], [2.0, 1.0, 0.0, 0.0]]
    with figures.style():
        fig, ax = figures.plt.subplots()
        ax.errorbar([1, 2], [1.0, 99.0], yerr=figures.interval_errs([(1.0, -2.0, 3.0), (99.0, 98.0, 104.0)]))
        ax.barh([0], [5.0], xerr=[[1.0], [2.0]])
    assert sorted(figures.error_bar_spans(fig)) == [(0.0, 3.0), (4.0, 7.0), (98.0, 100.0)]
    figures.plt.close(fig)


# ---- the faithful and textbook runs' figures -----------------------------------------------------------

def _faithful(exp_id: str, seed: int, passes: int = 20) -> Outcome:
    m = [{"pass": p, "test_error": 0.8 + 2 / p + seed / 20, "train_error": 0.2 + 2.5 / p + seed / 20}
         for p in range(1, passes + 1)]
    rec = {"seed": seed, "metrics": m, "final": {"test_error": m[-1]["test_error"], "test_n": 10_000}}
    return Outcome(RunItem(EXPS[exp_id], seed, {}, None, None), Path("."), rec)


def test_learning_curves_tick_passes_as_integers_and_the_log_axis_in_plain_numbers(tmp_path, drawn):
    outs = [_faithful("faithful/lenet5-1998", s) for s in range(3)] + [_faithful("faithful/lenet5-lush-demo", 0, 30)]
    _written(learning_curves.figure(outs, tmp_path / "lc.png"))
    fig = drawn["lc.png"]
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert _integer_ticks(ax.xaxis)
        labels = _tick_labels(ax.yaxis)
        assert _plain(labels) and "1" in labels, labels  # 0.5, 1, 2, ...: never 2x10^0
        assert not any(t.get_text() for t in ax.yaxis.get_minorticklabels())
    assert [ax.get_ylabel() for ax in fig.axes] == ["error (%)", ""]  # one y label: none drawn over a neighbour
    assert "paper: 0.95 % test" in fig.axes[0].get_title()
    assert learning_curves.figure([], tmp_path / "none.png") is None


def _textbook(recipe: str, seed: int) -> Outcome:
    m = [{"epoch": e, "test_acc": 0.1 + 0.07 * e} for e in range(1, 11)]
    return Outcome(RunItem(EXPS[f"textbook/{recipe}"], seed, {}, None, None), Path("."),
                   {"seed": seed, "metrics": m, "final": {"test_acc": m[-1]["test_acc"]}})


def test_textbook_curves_tick_epochs_as_integers(tmp_path, drawn):
    outs = [_textbook("classic", s) for s in range(2)] + [_textbook("d2l-2nd", 0)]
    _written(textbook_curves.figure(outs, tmp_path / "tb.png"))
    fig = drawn["tb.png"]
    assert all(_integer_ticks(ax.xaxis) for ax in fig.axes)
    assert all(0 <= lo <= hi <= 1 for lo, hi in figures.error_bar_spans(fig))  # the book's accuracy range


def test_misses_rbf_and_distortion_figures_are_written(tmp_path):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (20, 28, 28), dtype=torch.uint8, generator=g)
    labels = torch.arange(20) % 10
    ex = Experiment("faithful/lenet5-1998", "faithful", "lenet1998", "lenet5-1998", "LeNet-5")
    best = Outcome(RunItem(ex, 0, {}, None, None), Path("."),
                   {"test_misses_idx": [1, 4, 7], "test_predictions_missed": [3, 9, 1]})
    _written(misses.grid(best, images, labels, tmp_path / "misses.png"))
    _written(rbf_bitmaps.figure([], tmp_path / "rbf.png"))
    _written(distortions.examples(images[:4], tmp_path / "dist.png", n_digits=4, copies=2))


def test_activations_are_drawn_from_a_checkpoint(tmp_path):
    from lenet_repro.records import save_checkpoint
    from modern.model import TextbookLeNet
    from modern.recipes import NetSpec

    torch.manual_seed(0)
    spec = NetSpec()
    ck = save_checkpoint(tmp_path / "checkpoint.pt", family="modern", recipe="classic",
                         model_config={"net": dataclasses.asdict(spec)}, state_dict=TextbookLeNet(spec).state_dict(),
                         seed=0)
    images = torch.randint(0, 256, (10, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    _written(activations.draw(ck, images, torch.arange(10), tmp_path / "act.png"))


# ---- Fig. 9, Fig. 6 and the waterfall ----------------------------------------------------------------

def _record(seed: int, err: float, family: str = "comparison") -> dict:
    k = round(err * 100)
    return {"seed": seed, "final": {"test_error": k / 100, "test_n": 10_000, "test_misses": k},
            "test_misses_idx": list(range(k)), "metrics": [{"pass": 1, "test_error": err}], "config": {},
            "family": family}


def _comparison(row: str, seed: int, err: float) -> Outcome:
    ex = Experiment(f"comparison/{row}", "comparison", "comparison", row, row)
    return Outcome(RunItem(ex, seed, {}, None, None, None), Path("."), _record(seed, err))


def test_fig9_says_why_a_row_is_not_measured_in_its_row(tmp_path, drawn):
    from reports.sections import fig9

    outs = [_comparison("mlp-300", s, 2.2 + s / 10) for s in range(3)] + [_comparison("linear", 0, 12.0)]
    _written(fig9.figure(outs, tmp_path / "fig9.png"))
    ax = drawn["fig9.png"].axes[0]
    row_y = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks())}
    notes = {}
    for t in ax.texts:
        notes.setdefault(round(t.get_position()[1] + 0.2, 6), []).append(t.get_text())  # drawn where our bar would be
    rows = comparison.fig9_rows()
    assert len(row_y) == len(rows)
    for r in rows:
        y = round(row_y[get_reference(r.reference).note], 6)
        if r.ours in ("comparison/mlp-300", "comparison/linear"):
            assert y not in notes  # measured: a bar, no note
        elif r.why_not:
            assert notes[y] == [r.why_not.split(":")[0]] and notes[y][0].startswith("not implemented")
        else:
            assert notes[y] == ["no finished run in this report"]
    t = next(t for t in ax.texts if t.get_text() == "no finished run in this report")
    assert t.get_fontsize() < ax.yaxis.get_majorticklabels()[0].get_fontsize()  # small
    assert t.get_color() == figures.COLORS["note"]  # grey
    labels = _tick_labels(ax.xaxis)
    assert _plain(labels) and {"1", "2", "5", "10"} <= set(labels), labels
    _in_percent_range(drawn["fig9.png"])
    assert fig9.figure([], tmp_path / "none.png") is None


def test_fig6_error_bars_stay_inside_0_100(tmp_path, drawn, monkeypatch):
    from reports.sections import fig6

    def out(group, recipe, seed, n, test, train):
        ex = Experiment(f"{group}/{recipe}-{n}", group, "lenet1998", recipe, recipe)
        rec = _record(seed, test, "lenet1998")
        rec["final"].update(train_error=train, train_n=n)
        return Outcome(RunItem(ex, seed, {}, n, None, None), Path("."), rec)

    outs = [out("fig6", "lenet5-1998", s, 15_000, 1.4 + s / 10, [0.05, 1.5, 0.1][s]) for s in range(3)]
    outs += [out("faithful", "lenet5-1998", s, 60_000, 0.9 + s / 100, 0.25) for s in range(2)]
    _written(fig6.figure(outs, tmp_path / "fig6.png"))
    _in_percent_range(drawn["fig6.png"])
    assert _integer_ticks(drawn["fig6.png"].axes[0].xaxis)
    # intervals that reach past both ends (the statistics keep them inside; the figure must too): clipped
    points = fig6.points
    monkeypatch.setattr(fig6, "points", lambda o: [{**p, "lo": p["lo"] - 5, "hi": p["hi"] + 200} for p in points(o)])
    fig6.figure(outs, tmp_path / "wide.png")
    spans = _in_percent_range(drawn["wide.png"])
    assert min(lo for lo, _ in spans) == 0 and max(hi for _, hi in spans) == 100


def test_the_waterfall_is_written_with_its_bars_inside_0_100(tmp_path, drawn):
    from reports.sections import ablations

    outs = []
    for i, r in enumerate(row for row in ablations.rows() if row.group == "ladder"):
        ex = EXPS[r.id]
        outs += [Outcome(RunItem(ex, s, ex.overrides, None, None), Path(f"/x/{r.id}/s{s}"),
                         _record(s, 0.9 + i / 10 + s / 50, "lenet1998")) for s in range(3)]
    _written(waterfall.figure(outs, tmp_path / "w.png"))
    _in_percent_range(drawn["w.png"])
    ax = drawn["w.png"].axes[0]
    assert ax.get_ylim()[0] == 0 and len(ax.texts) == len(ax.get_xticks())  # one value label per step
