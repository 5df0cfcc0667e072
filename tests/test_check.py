"""The regression-check API: statistics against known values, verdicts on constructed results,
and the one-line errors."""

import json
import math

import pytest

from lenet_repro.errors import ConfigError, RecordError
from lenet_repro.records import SCHEMA
from reports import assert_consistent, check
from reports.check import check_pooled
from reports.check import main as check_main
from reports.stats import clopper_pearson, mcnemar, mean_sd


@pytest.mark.parametrize("k, n, lo, hi", [
    (0, 10, 0.0, 1 - 0.025 ** (1 / 10)),  # k = 0: the upper end solves (1 - p)^n = alpha / 2 (0.3085)
    (10, 10, 0.025 ** (1 / 10), 1.0),      # k = n: the mirror image (0.6915)
    (1, 10, 1 - 0.975 ** (1 / 10), 0.4450),  # k = 1: the lower end solves 1 - (1 - p)^n = alpha / 2
    (5, 20, 0.0866, 0.4910),   # textbook table values
    (1, 100, 0.000253, 0.0545),
])
def test_clopper_pearson_known_values(k, n, lo, hi):
    a, b = clopper_pearson(k, n)
    assert math.isclose(a, lo, abs_tol=1e-4) and math.isclose(b, hi, abs_tol=1e-4)


def test_clopper_pearson_rejects_nonsense():
    with pytest.raises(ValueError, match="must not be greater than n"):
        clopper_pearson(11, 10)


def test_mcnemar_exact():
    t = mcnemar([({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100}, {100, 200, 201})])  # 10 vs 2 discordant
    assert (t.only_a, t.only_b) == (10, 2)
    assert math.isclose(t.p_value, 158 / 4096, rel_tol=1e-9)  # 2 * P(X <= 2 | 12, 1/2)
    assert mcnemar([([1, 2], [1, 2])]).p_value == 1.0


def test_mcnemar_sums_the_discordant_counts_of_all_pairs():
    # seed 0: 2 vs 1 discordant, seed 1: 3 vs 0 -> one test on 5 vs 1: 2 * P(X <= 1 | 6, 1/2) = 14/64
    t = mcnemar([({1, 2, 3}, {3, 4}), ({5, 6, 7}, set())])
    assert (t.only_a, t.only_b) == (5, 1)
    assert math.isclose(t.p_value, 14 / 64, rel_tol=1e-9)


def test_mean_sd():
    m, sd = mean_sd([1.0, 2.0, 3.0])
    assert m == 2.0 and sd == 1.0
    assert math.isnan(mean_sd([1.0])[1])


def _rec(dataset="mnist", family="lenet1998", recipe="lenet5-1998", **final):
    return {"schema": SCHEMA, "run_id": "t", "recipe": recipe, "family": family, "dataset": dataset,
            "config": {"distortions": False}, "seed": 0, "metrics": [], "provenance": {}, "final": final}


@pytest.mark.parametrize("misses, verdict", [(95, "consistent"), (110, "consistent"), (60, "better"),
                                             (150, "worse")])
def test_paper_verdicts(misses, verdict):
    v = check(_rec(test_error=misses / 100, test_misses=misses, test_n=10000), "paper-lenet5")
    assert v.verdict == verdict
    lo, hi = v.interval
    assert lo < misses / 100 < hi


@pytest.mark.parametrize("acc, verdict", [(0.80, "consistent"), (0.90, "better"), (0.50, "worse")])
def test_book_spread_verdicts(acc, verdict):
    r = _rec("fashion-mnist", "modern", "classic", test_acc=acc, test_error=100 * (1 - acc),
             test_misses=round(10000 * (1 - acc)), test_n=10000)
    assert check(r, "d2l-classic-test-acc").verdict == verdict


def test_lower_loss_is_better():
    r = _rec("fashion-mnist", "modern", "classic", train_loss=0.6)
    assert check(r, "d2l-classic-train-loss").verdict == "worse"
    r["final"]["train_loss"] = 0.3
    assert check(r, "d2l-classic-train-loss").verdict == "better"


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
    assert check({**knn, "final": {**knn["final"], "test_error": 3.09, "test_misses": 309}}).verdict == "better"


def test_pooled_seeds_give_one_interval():
    # 120 misses of 10,000: CI 1.00-1.43 %, consistent with 0.85..1.05 %; three such seeds pooled,
    # 360 of 30,000: CI 1.08-1.33 %, entirely above the paper's range
    one = _rec(test_error=1.2, test_misses=120, test_n=10000)
    assert check(one).verdict == "consistent"
    v = check_pooled([one] * 3)
    assert (v.stats["test_misses"], v.stats["test_n"], v.value) == (360, 30000, 1.2)
    assert v.verdict == "worse" and 1.07 < v.interval[0] < 1.09 and 1.32 < v.interval[1] < 1.34
    assert check_pooled([_rec(test_error=1.1, test_misses=110, test_n=10000)] * 3, "paper-lenet5").consistent


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
    assert "consistent: test_error 0.95" in capsys.readouterr().out
    p.write_text(json.dumps(_rec(test_error=0.5, test_misses=50, test_n=10000)))
    assert check_main([str(p)]) == 1
    assert check_main([str(p), "--allow-better"]) == 0
    assert check_main([str(p), "--reference", "nope"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("lenet check: error: unknown reference id 'nope'")


def test_pytest_helper():
    assert_consistent(_rec(test_error=0.95, test_misses=95, test_n=10000), "paper-lenet5")
    with pytest.raises(AssertionError, match="worse"):
        assert_consistent(_rec(test_error=2.0, test_misses=200, test_n=10000), "paper-lenet5")


def test_mean_ci_is_students_t_on_hand_computed_values():
    from reports.stats import mean_ci

    lo, hi = mean_ci([1.0, 2.0, 3.0])  # mean 2, sd 1, n 3: 2 +- 4.302653 / sqrt(3)
    assert abs(lo - (2 - 4.302653 / 3 ** 0.5)) < 1e-5 and abs(hi - (2 + 4.302653 / 3 ** 0.5)) < 1e-5
    assert all(x != x for x in mean_ci([1.0]))  # nan for one value
