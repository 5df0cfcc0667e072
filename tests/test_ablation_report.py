"""The ablation study's statistics (reports/sections/table3.py, gap.py, questions.py, xavier.py,
waterfall.py) and our own regression references (reports/stats/own_references.py, `lenet check --reference
ours:<id>`), on synthetic run records whose answers are known, against naive re-computations."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from scipy import stats as sps

from lenet_repro import records
from lenet_repro.errors import ConfigError
from reports.sections import gap, questions, table3, waterfall
from reports import verdicts
from reports.sections import ablations
from reports.stats import own_references
from reports.stats.check import EXIT_BAD_INPUT, check
from reports.stats.check import main as check_main
from reports.run.plan import RunItem, experiments
from reports.run.runner import Outcome, resolved_config
from reports.testing import assert_consistent

EXPERIMENTS = {e.id: e for e in experiments()}


def _record(exp_id: str, seed: int, misses: list[int], n: int = 10_000) -> dict:
    ex = EXPERIMENTS[exp_id]
    it = RunItem(ex, seed, ex.overrides, None, None)
    cfg = {k: v for k, v in resolved_config(it).items()}
    cfg.update(train_subset=60_000, test_subset=n, holdout=None)
    return {"schema": records.SCHEMA, "run_id": f"{exp_id}-{seed}", "recipe": ex.recipe, "family": ex.family, "dataset": "mnist",
            "config": cfg, "seed": seed, "metrics": [{"pass": 1, "test_error": 100 * len(misses) / n,
                                                      "rate_capped": 0.5}],
            "final": {"test_error": 100 * len(misses) / n, "test_misses": len(misses), "test_n": n,
                      "train_n": 60_000},
            "test_misses_idx": sorted(misses), "sdlm": {"capped_per_pass": [{"C5.weight": 0.5, "F6.weight": 0.25}]},
            "provenance": {"git_commit": "abc1234def"}}


def _outcome(exp_id: str, seed: int, misses: list[int]) -> Outcome:
    ex = EXPERIMENTS[exp_id]
    return Outcome(RunItem(ex, seed, ex.overrides, None, None), Path(f"/x/{exp_id}/s{seed}"),
                   _record(exp_id, seed, misses))


def _misses(rng: random.Random, k: int, pool: int = 2000) -> list[int]:
    return rng.sample(range(pool), k)


def test_paired_statistics_equal_a_naive_computation():
    rng = random.Random(0)
    ref = {s: _record("ladder/00-faithful", s, _misses(rng, 90 + s)) for s in range(5)}
    row = {s: _record("alone-1998/softmax", s, _misses(rng, 140 + 3 * s * s)) for s in range(5)}
    p = verdicts.paired(row, ref)
    d = [row[s]["final"]["test_error"] - ref[s]["final"]["test_error"] for s in range(5)]
    mean = sum(d) / 5
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / 4)
    half = sps.t.ppf(0.975, 4) * sd / math.sqrt(5)
    assert p.n == 5 and math.isclose(p.diff, mean) and math.isclose(p.low, mean - half)
    assert math.isclose(p.high, mean + half)
    only_ref = sum(len(set(ref[s]["test_misses_idx"]) - set(row[s]["test_misses_idx"])) for s in range(5))
    only_row = sum(len(set(row[s]["test_misses_idx"]) - set(ref[s]["test_misses_idx"])) for s in range(5))
    assert (p.only_ref, p.only_this) == (only_ref, only_row)
    # THE CHANGE RULE's p: the paired t test over the five seeds (t = mean / (sd / sqrt 5) on 4 df)
    t = mean / (sd / math.sqrt(5))
    assert math.isclose(p.p, 2 * sps.t.sf(abs(t), 4), rel_tol=1e-9)
    # the descriptive McNemar column: exact two-sided binomial test on the pooled discordant digits
    k, m = min(only_ref, only_row), only_ref + only_row
    naive = min(1.0, 2 * sum(math.comb(m, i) for i in range(k + 1)) / 2 ** m)
    assert math.isclose(p.mcnemar_p, naive, rel_tol=1e-9)
    # seeds that only one side has are left out; none in common -> None
    assert verdicts.paired({9: row[0]}, ref) is None


def test_holm_adjustment_matches_the_hand_computed_step_down():
    assert verdicts.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert verdicts.holm([0.5, math.nan, 0.01]) == pytest.approx([0.5, math.nan, 0.02], nan_ok=True)


def _study(effect: dict[str, float], seeds: int = 5, base: int = 100) -> list[Outcome]:
    """Synthetic outcomes of every row: the error is base + the sum of the applied changes' effects
    (additive, so no interaction), plus a per-seed offset shared by all rows."""
    rng = random.Random(1)
    outs = []
    pool = list(range(10_000))
    for r in ablations.rows():
        for s in range(seeds if r.id not in ablations.endpoint_seeds_ids() else 2 * seeds):
            k = base + s + sum(effect.get(c, 0) for c in r.applied)
            outs.append(_outcome(r.id, s, rng.sample(pool, k)))
    return outs


def test_the_gap_is_decomposed_into_the_changes_that_make_it():
    effect = {"sigmoid": 120, "xavier": 40, "softmax": 20}  # misses out of 10,000
    outs = _study(effect)
    g = gap.gap(outs)
    assert g.n == 10 and g.diff == pytest.approx(1.80)  # 180 misses = 1.80 points
    cs = {c.key: c for c in gap.contributions(outs)}
    for key, k in effect.items():
        for p in (cs[key].forward, cs[key].backward, cs[key].alone_1998, cs[key].alone_textbook):
            assert p.diff == pytest.approx(k / 100)
    assert cs["dense-c3"].average == pytest.approx(0.0)
    text = gap.paragraph(outs)
    assert "squashing function (1.7159 tanh(2a/3) -> logistic sigmoid) +1.20 points, 67 %" in text  # 1.20 of 1.80
    assert "depends on the order" in text
    assert "+0.00 points are interaction" in text  # additive by construction
    # each ladder's shares sum to its own gap on its own seeds
    for group in ("ladder", "ladder-back"):
        ls = gap.ladder_sum(outs, group)
        assert sum(ls.steps.values()) == pytest.approx(ls.gap) and sum(ls.share(k) for k in ls.steps) == pytest.approx(100)
    t = gap.table(outs)
    assert t.iloc[-1]["forward share"] == "100 % of +1.80" and t.iloc[-1]["backward share"] == "100 % of +1.80"
    # the ladder's steps carry the effects, the Holm-adjusted p of the big ones is small
    fwd = {s.row.change: s for s in table3.group_stats(outs, "ladder") if s.row.change}
    assert fwd["sigmoid"].vs_prev.diff == pytest.approx(1.2) and fwd["sigmoid"].holm_p_prev < 1e-6
    assert fwd["dense-c3"].vs_prev.diff == pytest.approx(0.0)


def test_the_questions_get_a_verdict_from_both_ends():
    outs = _study({"sigmoid": 120, "avgpool": -30})
    q = questions.table(outs, "identity")
    v = dict(zip(q["question"], q["verdict"]))
    assert v["sigmoid vs scaled tanh"] == "1.7159 tanh(2a/3) is better at both ends"
    assert v["plain average pooling vs trainable subsampling"] == "plain average pooling is better at both ends"
    assert v["full C3 vs the sparse Table I"] == "not resolved at either end with these seeds"
    assert len(q) == 5 and "C5" in q["question"].iloc[-1]


def test_tables_are_written_as_csv_and_booktabs_latex(tmp_path):
    from reports.render import artefacts

    study = _study({"sigmoid": 50})
    paths = [p for g in ablations.GROUPS for p in artefacts.write_one(f"table3-{g}", study, tmp_path / "tables" / f"ablation-{g}")]
    assert len(paths) == 2 * len(ablations.GROUPS)
    tex = (tmp_path / "tables" / "ablation-ladder.tex").read_text()
    assert "\\toprule" in tex and "\\bottomrule" in tex and "\\label{tab:ablation-ladder}" in tex
    import pandas as pd

    df = pd.read_csv(tmp_path / "tables" / "ablation-alone-1998.csv")
    assert len(df) == len(ablations.CHANGES)
    assert df.set_index("id").loc["alone-1998/sigmoid", "diff_vs_reference"] == pytest.approx(0.5)


def test_the_waterfall_is_drawn(tmp_path):
    p = waterfall.figure(_study({"sigmoid": 50}), tmp_path / "w.png")
    assert p.stat().st_size > 5000


# ---- our own references -----------------------------------------------------------------------------

def _own_table(tmp_path) -> Path:
    outs = _study({"sigmoid": 120})
    return own_references.write(outs, tmp_path)


def test_own_references_are_prediction_intervals_of_the_recorded_rows(tmp_path):
    path = _own_table(tmp_path)
    table = own_references.load(path)
    ref = table["ours:ladder/00-faithful"].reference
    errs = [(100 + s) / 100 for s in range(10)]
    m = sum(errs) / 10
    sd = math.sqrt(sum((e - m) ** 2 for e in errs) / 9)
    lo, hi = m - sps.t.ppf(0.975, 9) * sd * math.sqrt(1.1), m + sps.t.ppf(0.975, 9) * sd * math.sqrt(1.1)
    assert ref.kind == "ours" and ref.n_builds == 10
    assert (ref.value, ref.uncertainty, ref.low, ref.high) == pytest.approx((m, sd, lo, hi), abs=1e-6)
    assert table["ours:alone-1998/sigmoid"].reference.n_builds == 5


def test_lenet_check_against_our_own_row(tmp_path, capsys):
    path = _own_table(tmp_path)
    inside = _record("ladder/00-faithful", 0, list(range(104)))
    worse = _record("ladder/00-faithful", 0, list(range(130)))
    v = check(inside, "ours:ladder/00-faithful", path)
    assert v.verdict == "consistent" and "sd over 10 seeds" in str(v)
    assert check(worse, "ours:ladder/00-faithful", path).verdict == "higher"
    assert_consistent(inside, "ours:ladder/00-faithful", references=path)
    with pytest.raises(AssertionError, match="higher"):
        assert_consistent(worse, "ours:ladder/00-faithful", references=path)
    # the CLI, with a result.json on disk
    f = tmp_path / "result.json"
    f.write_text(json.dumps(inside))
    assert check_main([str(f), "--reference", "ours:ladder/00-faithful", "--references", str(path)]) == 0
    f.write_text(json.dumps(worse))
    assert check_main([str(f), "--reference", "ours:ladder/00-faithful", "--references", str(path)]) == 1
    capsys.readouterr()


def test_an_unknown_or_mismatched_own_reference_is_one_line(tmp_path, capsys):
    path = _own_table(tmp_path)
    rec = _record("alone-1998/sigmoid", 0, list(range(104)))
    with pytest.raises(ConfigError, match="recorded with another config: activation"):
        check(rec, "ours:ladder/00-faithful", path)
    with pytest.raises(ConfigError, match="unknown reference id 'ours:ladder/99-nothing'"):
        check(rec, "ours:ladder/99-nothing", path)
    sub = _record("ladder/00-faithful", 0, list(range(10)), n=1000)
    with pytest.raises(ConfigError, match="measured on all 10,000 test digits"):
        check(sub, "ours:ladder/00-faithful", path)
    f = tmp_path / "result.json"
    f.write_text(json.dumps(rec))
    for args in (["--reference", "ours:ladder/00-faithful"], ["--reference", "ours:nope"]):
        assert check_main([str(f), *args, "--references", str(path)]) == EXIT_BAD_INPUT
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("lenet check: error: ")
    assert check_main([str(f), "--reference", "ours:x", "--references", str(tmp_path / "none.csv")]) == EXIT_BAD_INPUT
    assert "no table of our own references" in capsys.readouterr().err
