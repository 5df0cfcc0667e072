"""The Fig. 9-12 section and Fig. 6 of the report (reports/sections/comparison.py, fig9.py, fig10_12.py, holdout.py, fig6.py):
the rows in the figure's order, THE RULE of the held-out choices on hand-made records, the verdict,
and a network row that resumes after an interruption to the identical record."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from lenet1998.comparison.rows import ROWS
from lenet_repro.references import load_references
from reports.sections import comparison, fig9, fig10_12, holdout
from reports.run.plan import Experiment, RunItem, build_plan
from reports.run.runner import Outcome


def test_every_fig9_row_is_ours_or_says_why_not_in_the_figures_order():
    rows = comparison.fig9_rows()
    paper = [r.id for r in load_references().values() if r.id.startswith("paper-fig9-")]
    assert [r.reference for r in rows] == paper and len(rows) == 27
    assert all(bool(r.ours) != bool(r.why_not) for r in rows)
    ids = {it.experiment.id for it in build_plan("full")}
    assert all(r.ours in ids for r in rows if r.ours)  # each points at a run of the full profile
    assert not comparison.NOT_REPRODUCED and not any(r.why_not for r in rows)  # all 27 rows are ours (issue 18)
    assert not any(w in r.why_not for r in rows for w in (" h ", "hours", "minutes"))  # no guessed cost as a reason
    assert all(row.reference in paper for row in ROWS.values())


def test_the_paper_fig10_12_table_names_only_fig9_rows():
    paper = {r.id for r in load_references().values() if r.id.startswith("paper-fig9-")}
    t = fig10_12.paper_fig10_12()
    assert set(t) <= paper and len(t) == 19
    assert t["paper-fig9-lenet-4"]["variables_k"] == "17" and t["paper-fig9-svm-poly-4"]["reject_pct"] == "1.8"


def _row_outcome(seed, err, first=None, row="mlp-300"):
    ex = Experiment(f"comparison/{row}", "comparison", "comparison", row, row)
    k = round(err * 100)
    rec = {"seed": seed, "final": {"test_error": k / 100, "test_n": 10_000, "test_misses": k},
           "test_misses_idx": list(range(k)), "metrics": [{"pass": 1, "test_error": first or err}],
           "config": {}, "family": "comparison"}
    return Outcome(RunItem(ex, seed, {}, None, None, None), Path("."), rec)


def test_the_fig9_verdict_is_the_verdict_rule():
    row = next(r for r in comparison.fig9_rows() if r.ours == "comparison/mlp-300")  # the paper: 4.7 %
    assert fig9.row_verdict([_row_outcome(s, 4.6 + s / 10) for s in range(3)], row)[0] == "consistent"
    assert fig9.row_verdict([_row_outcome(s, 2.2 + s / 10) for s in range(3)], row)[0] == "lower"
    assert fig9.row_verdict([_row_outcome(0, 1.0), _row_outcome(1, 9.0)], row)[0] == "inconclusive"


def _outcome(exp_id, row, seed, err, metrics=(), holdout=10_000):
    ex = Experiment(exp_id, "comparison-holdout", "comparison", row, row, holdout=True)
    rec = {"seed": seed, "final": {"test_error": err, "test_n": holdout, "test_misses": round(err * holdout / 100)},
           "metrics": list(metrics), "config": {"holdout": holdout}, "family": "comparison"}
    return Outcome(RunItem(ex, seed, {}, None, None, holdout), Path("."), rec)


def test_the_rule_takes_the_lowest_held_out_error_and_breaks_ties_to_the_first_value():
    grid = comparison.GRIDS["knn-euclidean"]["k"]
    outs = [_outcome(f"comparison-holdout/knn-euclidean/k={k}", "knn-euclidean", 0, e)
            for k, e in zip(grid, (2.5, 2.5, 2.7))]
    assert holdout.choices(outs) == {("knn-euclidean", "k"): grid[0]}  # a tie: the reading taken first
    outs[1] = _outcome(f"comparison-holdout/knn-euclidean/k={grid[1]}", "knn-euclidean", 0, 2.4)
    assert holdout.choices(outs) == {("knn-euclidean", "k"): grid[1]}
    assert holdout.choices(outs[:2]) == {}  # a grid with a value not run yet chooses nothing


def test_a_networks_pass_count_is_read_off_its_20_pass_held_out_curve():
    def curve(e10, e20):
        return [{"pass": p, "test_error": e10 if p == 10 else e20 if p == 20 else 9.0} for p in range(1, 21)]

    exp = "comparison-holdout/lenet1/passes=20"  # LeNet-1: no grid, its own 20-pass run decides
    assert holdout.choices([_outcome(exp, "lenet1", 0, 3.0, curve(3.1, 3.0))]) == {("lenet1", "passes"): 20}
    assert holdout.choices([_outcome(exp, "lenet1", 0, 3.0, curve(2.9, 3.0))]) == {("lenet1", "passes"): 10}
    assert holdout.choices([_outcome(exp, "lenet1", 0, 3.0, curve(3.0, 3.0))]) == {("lenet1", "passes"): 20}
    two = [_outcome(exp, "lenet1", 0, 3.0, curve(2.8, 3.0)), _outcome(exp, "lenet1", 1, 3.0, curve(3.4, 3.0))]
    assert holdout.choices(two) == {("lenet1", "passes"): 20}  # the mean over seeds: 3.1 vs 3.0
    rows = holdout.holdout_rows([_outcome(exp, "lenet1", 0, 3.0, curve(2.9, 3.0)[:5])])  # a short run
    assert all(math.isnan(r["heldout"]) for r in rows) and holdout.choices([]) == {}


def test_a_fully_connected_nets_rate_follows_the_step_size_rule_and_its_pass_count_that_runs_curve():
    """THE STEP-SIZE RULE on hand-made held-out records (3 seeds per value): 1.0 is out on the paper's pass-1
    evidence even with the lowest error, 0.3 (the first value left) stays unless 0.1 wins beyond noise."""
    scales = comparison.GRIDS["mlp-300"]["rate_scale"]  # (1.0, 0.3, 0.1)

    def curve(e10, e20, step):
        return [{"pass": p, "test_error": e10 if p == 10 else e20, "rate_max": step if p == 1 else step / 2}
                for p in range(1, 21)]

    def outs(errs):  # value -> [(after pass 10, after 20) per seed]
        return [_outcome(f"comparison-holdout/mlp-300/rate_scale={v}", "mlp-300", s, e20,
                         curve(e10, e20, 0.025 * v))
                for v, per_seed in errs.items() for s, (e10, e20) in enumerate(per_seed)]

    assert all(o[2] == {"rate_scale": o[2]["rate_scale"], "passes": 20}
               for o in comparison.holdout_experiments() if o[1] == "mlp-300")  # pinned to 20 passes
    near = {scales[0]: [(1.0, 1.5)] * 3, scales[1]: [(2.5, 2.4), (2.6, 2.5), (2.4, 2.3)],
            scales[2]: [(2.5, 2.35), (2.6, 2.5), (2.4, 2.3)]}  # 0.1 a little lower, not beyond noise
    assert holdout.choices(outs(near)) == {("mlp-300", "rate_scale"): scales[1], ("mlp-300", "passes"): 20}
    far = {**near, scales[2]: [(2.0, 1.90), (2.1, 2.01), (1.9, 1.79)]}  # 0.1 lower by 0.5 on every seed
    assert holdout.choices(outs(far))[("mlp-300", "rate_scale")] == scales[2]
    assert holdout.choices(outs(near)[:4]) == {}  # the rate grid is not complete: neither is chosen
    two = [o for o in outs(near) if o.item.seed < 2]
    assert ("mlp-300", "rate_scale") not in holdout.choices(two)  # 2 good seeds are too few
    t = holdout.table(outs(near))
    assert sorted(t[t["chosen"] == "yes"]["value"]) == sorted([str(scales[1]), "20"])
    assert t[(t["option"] == "rate_scale") & (t["value"] == "1.0")]["rule note"].iloc[0].startswith("out: pass-1 step")


def test_summary_uses_the_row_uncertainty():
    one = fig9.summary([{"seed": 0, "final": {"test_error": 1.0, "test_misses": 100, "test_n": 10_000},
                       "test_misses_idx": list(range(100))}])
    assert one["interval"] == "binomial" and one["lo"] < 1.0 < one["hi"] and one["n"] == 1
    many = fig9.summary([{"seed": s, "final": {"test_error": e / 100, "test_misses": e, "test_n": 10_000},
                        "test_misses_idx": list(range(e))} for s, e in enumerate((100, 120, 110))])
    assert many["interval"] == "seeds + digits" and many["lo"] < 1.1 < many["hi"] and abs(many["sd"] - 0.1) < 1e-12


def test_a_failed_seed_is_left_out_of_the_row_and_named():
    outs = [_row_outcome(0, 2.0), _row_outcome(1, 2.2), _row_outcome(2, 2.1),
            _row_outcome(3, 11.5, first=14.4)]  # 1150 misses > 3 x the median 210 of the others: an outlier
    t = fig9.table(outs)
    r = t[t["classifier (Fig. 9)"] == "28x28-300-10"].iloc[0]
    assert r["runs"] == "3 good of 4" and r["ours %"] == "2.10 +- 0.10" and r["failed runs"].startswith("1 of 4 seeds failed (s3")
    lines = fig9.failed_rows(outs)
    assert len(lines) == 1 and "s3 11.50 % FAILED" in lines[0] and "(after pass 1: 14.40 %)" in lines[0]


def test_a_failed_part_is_named_with_its_own_first_pass_and_training_set():
    """The boosted LeNet-4: a run failed by its net 3 says where net 3 (not the ensemble's net 1) stood after its
    first pass, and what net 3 trained on per class (its part's train_per_class, counted when the sets are drawn)."""
    def boosted(seed, net3, first3):
        o = _row_outcome(seed, 0.65 + seed / 100, first=2.0, row="dist-boosted-lenet4")
        o.record["parts"] = [{"name": f"net {k}", "final": {"test_error": m / 100, "test_n": 10_000, "test_misses": m},
                              "test_misses_idx": list(range(m)), "metrics": [{"pass": 1, "test_error": f}]}
                             for k, m, f in ((1, 90, 2.0), (2, 200, 3.0), (3, net3, first3))]
        o.record["parts"][1]["train_per_class"] = [100] * 10
        o.record["parts"][2]["train_per_class"] = [50] * 6 + [0] + [50] * 3
        return o

    lines = fig9.failed_rows([boosted(0, 164, 5.0), boosted(1, 1119, 12.5), boosted(2, 340, 6.0)])
    assert len(lines) == 1 and "s1 0.66 % FAILED: net 3: it misses 1119" in lines[0]
    assert "(net 3 after pass 1: 12.50 %)" in lines[0] and "after pass 1: 2.00 %" not in lines[0]
    assert "net 3 trained on 450 patterns, per class 0-9: 50 / 50 / 50 / 50 / 50 / 50 / 0 / 50 / 50 / 50" in lines[0]


@pytest.mark.data
def test_an_interrupted_network_row_resumes_to_the_identical_record(tmp_path):
    from lenet1998.comparison.train import train
    from lenet_repro.records import numbers_of

    kw = dict(options={"passes": 2}, seed=3, train_subset=400, test_subset=200)
    whole = train("mlp-300", out_dir=tmp_path / "whole", log=lambda s: None, **kw)

    class Stop(Exception):
        pass

    # interrupt after the checkpoint of pass 1: at pass 2's log line (written before its checkpoint)
    seen = []

    def stop_in_pass_2(line):
        seen.append(line)
        if "pass  2/2" in line:
            raise Stop

    with pytest.raises(Stop):
        train("mlp-300", out_dir=tmp_path / "cut2", log=stop_in_pass_2, **kw)
    assert (tmp_path / "cut2" / "checkpoint.pt").exists() and not (tmp_path / "cut2" / "result.json").exists()
    lines = []
    resumed = train("mlp-300", out_dir=tmp_path / "cut2", resume=True, log=lines.append, **kw)
    assert any("resuming after pass 1 of 2" in s for s in lines)
    assert numbers_of(resumed) == numbers_of(whole)
    again = train("mlp-300", out_dir=tmp_path / "cut2", resume=True, log=lambda s: None, **kw)
    assert numbers_of(again) == numbers_of(whole)  # a finished run is reused, not refitted
    from lenet_repro.errors import ConfigError

    with pytest.raises(ConfigError, match="another config or seed"):
        train("mlp-300", out_dir=tmp_path / "cut2", resume=True, log=lambda s: None, **{**kw, "seed": 4})
    with pytest.raises(ConfigError, match="contradict"):
        train("mlp-300", out_dir=tmp_path / "x", resume=True, overwrite=True, **kw)


def test_the_committed_held_out_records_choose_the_defaults_in_rows_py():
    """THE RULE on the committed full report's held-out runs picks every default it has decided (a grid
    all of whose values have run); the LeNet-4 readouts keep LeNet-4's own pass count."""
    from reports.run.runner import run_plan

    full = Path(__file__).resolve().parent.parent / "reports" / "full"
    outs = run_plan(build_plan("full", only="comparison-holdout/*"), full, readonly=True, log=lambda s: None)
    chosen = holdout.choices(outs)
    assert {k for k in chosen if k[1] != "passes"} >= {(r, o) for r, g in comparison.GRIDS.items() for o in g
                                                      if not ROWS[r].network}  # the classical grids have run
    for (row, opt), value in chosen.items():
        assert ROWS[row].options[opt] == value, (row, opt)
    for name in ("lenet4-knn", "lenet4-local", "dist-boosted-lenet4"):
        assert ROWS[name].options["passes"] == ROWS["lenet4"].options["passes"]


def test_fig6_points_group_the_runs_by_training_set_size_with_the_papers_60k_points(tmp_path):
    from reports.sections import fig6

    def out(group, recipe, seed, n, test, train):
        ex = Experiment(f"{group}/{recipe}-{n}", group, "lenet1998", recipe, recipe)
        k = round(test * 100)
        rec = {"seed": seed, "final": {"test_error": k / 100, "train_error": train, "train_n": n, "test_n": 10_000,
                                       "test_misses": k}, "test_misses_idx": list(range(k))}
        return Outcome(RunItem(ex, seed, {}, n, None, None), Path("."), rec)

    outs = [out("fig6", "lenet5-1998", s, 15_000, 1.4 + s / 10, 0.2) for s in range(3)]
    outs += [out("faithful", "lenet5-1998", s, 60_000, 0.9 + s / 100, 0.25) for s in range(2)]
    outs += [out("fig6", "lenet5-1998-distortions", 0, 15_000, 1.2, 0.3)]
    outs += [out("ladder", "lenet5-1998", 0, 60_000, 5.0, 5.0)]  # another group: not a Fig. 6 point
    pts = fig6.points(outs)
    test = [p for p in pts if p["curve"] == "test error (no distortions)"]
    assert [(p["size"], p["n"]) for p in test] == [(15_000, 3), (60_000, 2)]
    assert test[0]["mean"] == pytest.approx(1.5) and test[0]["lo"] < 1.5 < test[0]["hi"]
    t = fig6.table(outs)
    assert set(t[t["training digits"] == "60,000"]["paper %"]) == {"0.95", "0.35"}
    assert (t[t["training digits"] == "15,000"]["paper %"] == "not in the text").all()
    assert fig6.figure(outs, tmp_path / "f.png").stat().st_size > 1000 and fig6.figure([], tmp_path / "g.png") is None


def test_lenet5_costs_are_sec_2b_counts_and_the_ratio_flags_beyond_10_percent():
    """Figs. 11-12 for the faithful rows: one multiply-add per connection (340,908) and 60,000 parameters,
    from the network the record's config builds; the paper's 401k is 0.85 of it, flagged."""
    import json

    from reports.sections.fig10_12 import _costs, _ratio

    full = Path(__file__).resolve().parent.parent / "reports" / "full"
    rec = json.loads(next(full.glob("runs/faithful/lenet5-1998/s0-*/result.json")).read_text())
    assert _costs(rec) == (340_908, 60_000)
    assert _ratio(340_908, "401") == "0.85 (> 10 % off)" and _ratio(60_000, "60") == "1.00"
    assert _ratio(109_000, "100") == "1.09" and _ratio(None, "60") == "-" and _ratio(5, "") == "-"


def test_every_cost_more_than_10_percent_off_the_papers_has_a_note():
    """Figs. 11-12 on the committed full report's records: every ratio flagged '> 10 % off' comes with a note
    naming the convention or the model difference (reports/sections/comparison.py COST_NOTES); every row states its
    Fig. 10 score."""
    from reports.run.runner import run_plan

    full = Path(__file__).resolve().parent.parent / "reports" / "full"
    outs = run_plan(build_plan("full", only="comparison/*,faithful/*"), full, readonly=True, log=lambda s: None)
    t = fig10_12.table(outs)
    off = t[t["Fig. 11 ours / paper"].str.contains("off") | t["Fig. 12 ours / paper"].str.contains("off")]
    assert len(off) >= 5 and (off["note"].str.len() > 20).all(), off[["classifier", "note"]]
    measured = t[t["Fig. 11 ours (k)"] != "-"]
    assert (measured["Fig. 10 score (ours)"] != "-").all()
    boosted = t[t["classifier"] == "[dist] boosted LeNet-4"].iloc[0]
    assert "at the paper's 1.75 nets" in boosted["note"]
