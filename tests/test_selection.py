"""The rule that chooses the open readings (reports/stats/selection.py) on hand-built records, and the report's
cache retraining a record of another numeric build."""

import json

import pytest

from reports.stats.selection import CRITERIA, choose, verdict


def _record(rate_min=1e-4, rate_max=0.015, errors=None, running=0.3, n=10_000, passes=20):
    errors = errors or [1.0] * passes
    metrics = [{"pass": i + 1, "test_error": e, "train_error_running": running if i + 1 == 19 else 5.0}
               for i, e in enumerate(errors)]
    return {"sdlm": {"pass1_rates": {"min": rate_min, "max": rate_max}}, "metrics": metrics,
            "final": {"test_error": errors[-1], "test_n": n}}


def test_a_run_like_the_papers_is_consistent():
    v = verdict(_record())
    assert v.consistent and v.met == len(CRITERIA)


@pytest.mark.parametrize("kw,failing", [
    (dict(rate_min=1.5e-4), "rates low end"),  # more than 2x above 7e-5
    (dict(rate_min=3e-5), "rates low end"),  # more than 2x below
    (dict(rate_max=0.025), "rates high end"),  # pinned at eta / mu
    (dict(rate_max=0.009), "rates high end"),
    (dict(running=0.8), "training error"),  # more than 2x the paper's 0.35 %
    (dict(running=0.1), "training error"),
    (dict(errors=[1.0] * 9 + [1.4] + [1.0] * 10), "error stable"),  # 0.4 points > 2 x 1.96 x 0.0995
])
def test_each_criterion_can_fail_alone(kw, failing):
    v = verdict(_record(**kw))
    assert [c for c, ok in v.checks.items() if not ok] == [failing]
    assert not v.consistent


def test_stability_tolerance_is_twice_the_binomial_half_width():
    ok = verdict(_record(errors=[1.0] * 9 + [1.38] + [1.0] * 10))  # 0.38 < 0.39
    assert ok.checks["error stable"] and ok.stable_limit == pytest.approx(2 * 1.96 * (0.01 * 0.99 / 1e4) ** 0.5 * 100)


def test_a_short_run_cannot_be_judged_on_its_curve():
    v = verdict(_record(errors=[2.0, 1.5]))
    assert v.checks["error stable"] is None and v.checks["training error"] is None and not v.consistent


def test_choose_prefers_consistency_then_held_out_error():
    rows = [{"id": "a", "consistent": False, "met": 3, "heldout": 0.9},
            {"id": "b", "consistent": True, "met": 4, "heldout": 1.1},
            {"id": "c", "consistent": True, "met": 4, "heldout": 1.0}]
    best, how = choose(rows)
    assert best["id"] == "c" and "2 of 3" in how
    best, how = choose([dict(r, consistent=False, met=3 if r["id"] == "a" else 2) for r in rows])
    assert best["id"] == "a" and "no configuration is consistent" in how and "closest is a" in how


@pytest.mark.data
def test_a_record_of_another_numeric_build_is_trained_again(tmp_path):
    from lenet1998.fast.build import numeric_build_id
    from reports.run.plan import build_plan
    from reports.run.runner import run_dir, run_plan

    plan = [it for it in build_plan("smoke") if it.experiment.id == "faithful/lenet5-1998"]
    run_plan(plan, tmp_path, log=lambda s: None)
    path = run_dir(tmp_path, plan[0]) / "result.json"
    rec = json.loads(path.read_text())
    rec["provenance"]["kernel"]["numeric_build"] = "k0w0-000000"
    path.write_text(json.dumps(rec))
    lines = []
    (o,) = run_plan(plan, tmp_path, log=lines.append)
    assert "1 of them recorded by another numeric build" in lines[0] and not o.cached
    assert o.record["provenance"]["kernel"]["numeric_build"] == numeric_build_id()
    (o,) = run_plan(plan, tmp_path, log=lines.append)  # this build's record is reused
    assert o.cached


def test_a_headline_row_that_mixes_commits_or_builds_says_so():
    from reports.sections.table2 import commits_note

    def rec(commit, dirty=False, build="k1w1-aaaaaa"):
        return {"family": "lenet1998", "provenance": {"git_commit": commit, "git_dirty": dirty, "backend": "fast",
                                                      "kernel": {"numeric_build": build}}}

    assert commits_note([rec("a" * 40), rec("a" * 40)]) == ""
    assert commits_note([rec("a" * 40), rec("b" * 40)]) == "**MIXED: 2 commits**"
    assert commits_note([rec("a" * 40, dirty=True)]) == "**MIXED: a dirty tree**"
    assert "2 numeric builds" in commits_note([rec("a" * 40), rec("a" * 40, build="k0w1-aaaaaa")])
