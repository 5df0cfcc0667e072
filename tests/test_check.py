"""The regression-check API: statistics against known values, verdicts on constructed results,
and the one-line errors."""

import json
import math

import pytest

from lenet_repro.errors import ConfigError, RecordError
from lenet_repro.records import SCHEMA
from reports import assert_consistent, check
from reports.stats.check import main as check_main


def _rec(dataset="mnist", family="lenet1998", recipe="lenet5-1998", **final):
    return {"schema": SCHEMA, "run_id": "t", "recipe": recipe, "family": family, "dataset": dataset,
            "config": {"distortions": False}, "seed": 0, "metrics": [], "provenance": {}, "final": final}


@pytest.mark.parametrize("misses, verdict", [(95, "consistent"), (110, "consistent"), (60, "lower"),
                                             (150, "higher")])
def test_paper_verdicts(misses, verdict):
    v = check(_rec(test_error=misses / 100, test_misses=misses, test_n=10000), "paper-lenet5")
    assert v.verdict == verdict
    lo, hi = v.interval
    assert lo < misses / 100 < hi


@pytest.mark.parametrize("acc, verdict", [(0.80, "consistent"), (0.90, "higher"), (0.50, "lower")])
def test_book_spread_verdicts(acc, verdict):
    r = _rec("fashion-mnist", "modern", "classic", test_acc=acc, test_error=100 * (1 - acc),
             test_misses=round(10000 * (1 - acc)), test_n=10000)
    assert check(r, "d2l-classic-test-acc").verdict == verdict


def test_lower_loss_is_better():
    r = _rec("fashion-mnist", "modern", "classic", train_loss=0.6)
    v = check(r, "d2l-classic-train-loss")
    assert v.verdict == "higher" and not v.better
    r["final"]["train_loss"] = 0.3
    v = check(r, "d2l-classic-train-loss")
    assert v.verdict == "lower" and v.better


def test_default_reference_follows_the_recipe():
    assert check(_rec(test_error=0.95, test_misses=95, test_n=10000)).reference.id == "paper-lenet5"
    dist = _rec(test_error=0.8, test_misses=80, test_n=10000)
    dist["config"]["distortions"] = True  # `lenet train lenet5-1998 --distortions`
    assert check(dist).reference.id == "paper-lenet5-distortions"
    r = _rec("fashion-mnist", "modern", "classic", test_acc=0.8, test_misses=2000, test_n=10000)
    assert check(r).reference.id == "d2l-classic-test-acc"
    knn = _rec("mnist", "comparison", "knn-euclidean", test_error=5.0, test_misses=500, test_n=10000)
    v = check(knn)  # a Fig. 9 row: the paper's number for it
    assert v.reference.id == "paper-fig9-k-nn-euclidean" and v.verdict == "consistent"
    assert check({**knn, "final": {**knn["final"], "test_error": 3.09, "test_misses": 309}}).verdict == "lower"


def test_a_comparison_record_is_checked_only_against_its_own_row():
    knn = _rec("mnist", "comparison", "knn-euclidean", test_error=5.0, test_misses=500, test_n=10000)
    with pytest.raises(ConfigError, match="paper's number for 'linear'.*its row's reference: paper-fig9-k-nn"):
        check(knn, "paper-fig9-linear")
    lenet5 = _rec(test_error=0.95, test_misses=95, test_n=10000)
    assert check(lenet5, "paper-fig9-lenet-5").consistent  # the faithful recipe's own Fig. 9 row
    with pytest.raises(ConfigError, match="compare a run with its own row's number"):
        check(lenet5, "paper-fig9-dist-lenet-5")
    with pytest.raises(ConfigError, match="is for recipe 'lenet5-1998-distortions'"):
        check(lenet5, "paper-lenet5-distortions")


@pytest.mark.parametrize("final, match", [
    ({"test_error": 1.0, "test_misses": 10001, "test_n": 10000}, "test_misses 10001 exceeds test_n 10000"),
    ({"test_error": 1.0, "test_misses": 0, "test_n": 0}, "test_n is 0"),
    ({"test_error": 0.5, "test_misses": 100, "test_n": 10000}, r"test_error 0.5 % is not 100 x test_misses / test_n = 1 %"),
])
def test_records_that_contradict_themselves_are_refused(final, match):
    with pytest.raises(RecordError, match=match):
        check(_rec(**final), "paper-lenet5")


def test_a_subset_run_says_what_its_verdict_means():
    v = check(_rec(test_error=1.0, test_misses=50, test_n=5000), "paper-lenet5")
    assert v.verdict == "consistent"
    assert any("evaluated on 5,000 of the 10,000 test digits" in line for line in v.notes())
    assert any("in 0.70 .. 1.24 %" in line for line in v.notes())  # the single full run's window


def test_bad_input_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="unknown reference id"):
        check(_rec(test_error=1.0, test_misses=100, test_n=10000), "paper-lenet99")
    with pytest.raises(ConfigError, match="is on fashion-mnist but the result is on mnist"):
        check(_rec(test_acc=0.99, test_misses=100, test_n=10000), "d2l-classic-test-acc")
    p = tmp_path / "result.json"
    p.write_text(json.dumps({"hello": "world"}))
    with pytest.raises(RecordError, match="not a lenet-repro run record"):
        check(p)
    p.write_text("{broken")
    with pytest.raises(RecordError, match="not valid JSON"):
        check(p)
    with pytest.raises(RecordError, match="no final 'train_error'"):
        check(_rec(test_error=1.0), "paper-lenet5-train")


def test_cli_exit_codes(tmp_path, capsys):
    p = tmp_path / "result.json"
    p.write_text(json.dumps(_rec(test_error=0.95, test_misses=95, test_n=10000, train_error=0.3)))
    assert check_main([str(p)]) == 0
    out = capsys.readouterr().out
    assert "consistent: test_error 0.95" in out and "error lies in 0.70 .. 1.24 %" in out
    p.write_text(json.dumps(_rec(test_error=0.5, test_misses=50, test_n=10000)))
    assert check_main([str(p)]) == 1  # lower: differs
    assert check_main([str(p), "--allow-better"]) == 0
    p.write_text(json.dumps(_rec(test_error=2.0, test_misses=200, test_n=10000)))
    assert check_main([str(p), "--allow-better"]) == 1  # higher error is not better
    p.write_text(json.dumps(_rec(test_error=1.0, test_misses=2, test_n=200)))
    assert check_main([str(p)]) == 3  # 2 misses of 200 digits: too wide to tell
    assert "inconclusive" in capsys.readouterr().out
    assert check_main([str(p), "--reference", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("lenet check: error: unknown reference id 'nope'")
    p.write_text(json.dumps(_rec(test_error=1.0, test_misses=200, test_n=100)))
    assert check_main([str(p)]) == 2
    assert "exceeds test_n" in capsys.readouterr().err
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    assert check_main([str(p)]) == 2


def test_pytest_helper():
    assert_consistent(_rec(test_error=0.95, test_misses=95, test_n=10000), "paper-lenet5")
    with pytest.raises(AssertionError, match="higher"):
        assert_consistent(_rec(test_error=2.0, test_misses=200, test_n=10000), "paper-lenet5")
