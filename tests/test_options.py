"""Option values (issue 19, hardening): every `--option KEY=VALUE` of a Fig. 9 row is checked against
its declared spec (lenet1998/comparison/options.py) before any data is read or any fit starts, and
every numeric flag of the trainers and the report is bounded. Each refusal is one line (argparse's
usage + error for a flag's type), never a traceback, never a run of something else.

The CLI refusals run with --data-root pointing at an empty folder: a value that slipped through
would end in the missing-data error instead, which the needles tell apart.
"""

from __future__ import annotations

import math

import pytest
import torch

from lenet1998.comparison import options
from lenet1998.comparison.rows import ROWS
from lenet_repro.errors import ConfigError
from reports.cli import main


def _cli(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse
        code = e.code
    out, err = capsys.readouterr()
    return code, err.strip().splitlines(), out


def _train(capsys, tmp_path, row, *args):
    return _cli(capsys, "train", row, *args, "--train-subset", "100", "--test-subset", "20",
                "--data-root", tmp_path / "no-data", "--out-dir", tmp_path / "run")


def _one_line(code, lines, *needles):
    assert code == 1, (code, lines)
    assert len(lines) == 1 and lines[0].startswith("lenet train: error: "), lines
    for n in needles:
        assert n in lines[0], (n, lines[0])


# ------------------------------------------------------------------------------------- the spec table

def test_every_option_of_every_row_has_a_spec_and_its_default_is_allowed():
    for name, row in ROWS.items():
        specs = options.specs_of(row)  # raises for an option without a spec
        assert set(specs) == set(row.options), name
        assert options.resolve(row, {}, n_train=60_000) == row.options, name
        assert len(options.describe(row)) == len(row.options)


def test_a_row_option_without_a_spec_is_caught():
    from dataclasses import replace

    row = replace(ROWS["linear"], options={"ridge": 1.0, "lambda": 2.0})
    with pytest.raises(ConfigError, match=r"options \['lambda'\] have no spec"):
        options.specs_of(row)


@pytest.mark.parametrize("row, args, needles", [
    # the measured failures of issue 19
    ("linear", ["--option", "ridge=true"], ["ridge=true", "must be a finite number from 0 to 1e+09"]),
    ("linear", ["--option", "ridge=1", "--option", "ridge=2"], ["--option ridge is given twice"]),
    ("linear", ["--option", "ridge=NaN"], ["NaN is not a value an option takes"]),
    ("linear", ["--option", "ridge=Infinity"], ["Infinity is not a value"]),
    ("linear", ["--option", "ridge=-Infinity"], ["-Infinity is not a value"]),
    ("linear", ["--option", "ridge=1e999"], ["overflows to infinity"]),
    ("knn-euclidean", ["--option", "k=0"], ["k=0", "must be an integer from 1 to the number of training digits"]),
    ("knn-euclidean", ["--option", "k=-1"], ["k=-1", "must be an integer from 1"]),
    ("knn-euclidean", ["--option", "k=3.0"], ["k=3.0", "must be an integer"]),
    ("knn-euclidean", ["--option", "k=101"], ["cannot exceed the 100 training digits of this run"]),
    ("rbf-linear", ["--option", "epochs=-1"], ["epochs=-1", "from 1 to 100"]),
    ("mlp-300", ["--option", "passes=-1"], ["passes=-1", "from 1 to 1,000"]),
    ("mlp-300", ["--option", "passes=true"], ["passes=true", "must be an integer"]),
    ("svm-poly-4", ["--option", "C=NaN"], ["NaN is not a value"]),
    ("svm-poly-4", ["--option", "C=0"], ["C=0", "> 0"]),
    ("svm-poly-4", ["--option", "coef0=-1"], ["coef0=-1", "positive semi-definite"]),
    ("tangent-distance", ["--option", "sigma=NaN"], ["NaN is not a value"]),
    ("tangent-distance", ["--option", "spring=0"], ["spring=0", "> 0"]),
    ("tangent-distance", ["--option", "k=201", "--option", "coarse=0"], ["k=201 exceeds prefilter=200"]),
    ("tangent-distance", ["--option", "coarse=20"], ["coarse=20 keeps fewer candidates than prefilter=200"]),
    ("lenet4-knn", ["--option", "readout=local"], ['readout="local"', 'must be "knn" (fixed']),
    ("lenet4-local", ["--option", "ridge=0"], ["ridge=0", "> 0"]),
    ("lenet4-local", ["--option", "neighbours=101"], ["cannot exceed the 100 training digits"]),
    ("dist-boosted-lenet4", ["--option", "boosting=false"], ["boosting=false", "must be true (fixed"]),
    ("dist-boosted-lenet4", ["--option", "distortions=false"], ["keep distortions true"]),
    ("pairwise-linear", ["--option", "unit=relu"], ['unit="relu"', 'one of "linear", "tanh"']),
    ("pca-quadratic", ["--option", "k=101"], ["k=101", "from 1 to 100"]),
    ("pca-quadratic", ["--option", "monomials=null"], ["monomials=null", 'one of "pairs", "linear-cross"']),
    ("linear", ["--option", "k=3"], ["row 'linear' has no options ['k']"]),
    ("linear", ["--option", "ridge"], ["must look like KEY=VALUE"]),
    ("rbf-linear", ["--seed", str(2**63 - 1)], ["too large for row 'rbf-linear'", "from 0 to 1844674407370955160"]),
])
def test_a_bad_option_value_is_one_line_before_any_data_is_read(capsys, tmp_path, row, args, needles):
    code, lines, _ = _train(capsys, tmp_path, row, *args)
    _one_line(code, lines, *needles)
    assert not (tmp_path / "run").exists()


def test_a_good_option_value_passes_the_check_and_reaches_the_data(capsys, tmp_path):
    # the control for the test above: the same command with allowed values stops only at the missing data
    for row, args in [("linear", ["--option", "ridge=10"]), ("knn-euclidean", ["--option", "k=100"]),
                      ("pairwise-linear", ["--option", "unit=linear"]), ("lenet4-knn", ["--option", "readout=knn"]),
                      ("tangent-distance", ["--option", "coarse=0", "--option", "k=50"])]:
        code, lines, _ = _train(capsys, tmp_path, row, *args)
        _one_line(code, lines, "is not in", "lenet data fetch mnist")


def test_the_library_path_checks_the_same_values():
    row = ROWS["linear"]
    for bad in (float("nan"), float("inf"), True, "10", None, -1.0, 2e9):
        with pytest.raises(ConfigError, match="ridge"):
            options.resolve(row, {"ridge": bad})
    assert options.resolve(row, {"ridge": 10})["ridge"] == 10  # an int for a float, kept as given (cache keys)
    assert type(options.resolve(row, {"ridge": 10})["ridge"]) is int
    with pytest.raises(ConfigError, match="unused by method"):  # a gradient-descent option on the direct solution
        options.resolve(row, {"method": "least-squares", "passes": 20})
    assert options.resolve(row, {"method": "linear-sgd", "passes": 20})["passes"] == 20
    assert options.resolve(ROWS["svm-poly-4"], {"degree": 2})["degree"] == 2
    with pytest.raises(ConfigError, match="degree"):
        options.resolve(ROWS["svm-poly-4"], {"degree": 2.0})
    with pytest.raises(ConfigError, match="must be a mapping"):
        options.resolve(row, [("ridge", 1.0)])


def test_parse_reads_json_values_and_bare_strings_strictly():
    assert options.parse(["ridge=10", "unit=tanh", 'monomials="pairs"', "distortions=true", "width=0.5"]) == {
        "ridge": 10, "unit": "tanh", "monomials": "pairs", "distortions": True, "width": 0.5}
    for bad, needle in [(["ridge=NaN"], "NaN"), (["ridge=-Infinity"], "Infinity"), (["ridge=1e400"], "overflows"),
                        (["k=1", "k=1"], "given twice"), (["=3"], "KEY=VALUE"), (["k"], "KEY=VALUE")]:
        with pytest.raises(ConfigError, match=needle):
            options.parse(bad)


def test_what_a_row_needs_of_its_training_digits_is_checked_before_the_fit():
    every = torch.arange(20) % 10
    options.check_data(ROWS["svm-poly-4"], ROWS["svm-poly-4"].options, every)
    with pytest.raises(ConfigError, match="class 9 has none"):
        options.check_data(ROWS["svm-poly-4"], ROWS["svm-poly-4"].options, every[every != 9])
    rbf = ROWS["rbf-linear"]
    options.check_data(rbf, {**rbf.options, "per_class": 2}, every)
    with pytest.raises(ConfigError, match="per_class=3 .* class 0 has 2"):
        options.check_data(rbf, {**rbf.options, "per_class": 3}, every)
    with pytest.raises(ConfigError, match="at least 2 training digits"):
        options.check_data(ROWS["pca-quadratic"], ROWS["pca-quadratic"].options, every[:1])


def test_the_extremes_each_spec_allows_are_runnable_fits():
    """The spec's bounds are the code's: a fit at each end runs (tiny synthetic digits, fast)."""
    from lenet1998.comparison import knn, linear, pca_quadratic, rbf_network, svm, tangent_distance

    g = torch.Generator().manual_seed(0)
    y = torch.arange(40) % 10
    x = torch.rand(40, 256, generator=g, dtype=torch.float64)

    def fits(spec_kind, fit, **kw):
        specs = options.SPECS[spec_kind]
        for k, v in kw.items():
            specs[k].check("test", k, v, None)  # allowed by the spec ...
        scores = fit(x, y, **kw).scores(x[:5])  # ... and the code runs it
        assert scores.shape == (5, 10) and torch.isfinite(scores).all(), (spec_kind, kw)

    fits("linear", linear.fit, ridge=0.0)
    fits("linear", linear.fit, ridge=options.RIDGE_MAX)
    fits("knn", knn.fit, k=1)
    fits("knn", knn.fit, k=len(y))
    fits("pca_quadratic", pca_quadratic.fit, k=1, ridge=0.0)
    fits("rbf_network", rbf_network.fit, per_class=1, width=1e3, ridge=options.RIDGE_MAX, epochs=1)
    fits("tangent_distance", tangent_distance.fit, k=3, prefilter=3, coarse=3, sigma=8.0, spring=1e6)
    fits("tangent_distance", tangent_distance.fit, k=1, prefilter=1, coarse=0, sigma=0.5, spring=1e-9)
    fits("svm", svm.fit, degree=10, C=1e9, coef0=0.0, gamma_scale=1e-6)
    fits("svm", svm.fit, degree=1, C=1e-6, coef0=1e6, gamma_scale=1e6)


def test_allowed_values_are_described_in_words():
    s = options.OptionSpec
    assert s(int, "", 1, 10).allowed() == "an integer from 1 to 10"
    assert s(int, "", 1, counts_training=True).allowed() == "an integer from 1 to the number of training digits"
    assert s(float, "", 0.0, 5.0, low_open=True).allowed() == "a finite number > 0 and <= 5"
    assert s(float, "", 0.0, 5.0).allowed() == "a finite number from 0 to 5"
    assert s(str, "", choices=("a", "b")).allowed() == 'one of "a", "b"'
    assert s(str, "", fixed=True).allowed("knn").startswith('"knn" (fixed')
    assert math.isfinite(options.RIDGE_MAX)


# ------------------------------------------------------------------------------------- numeric flags

@pytest.mark.parametrize("argv, needle", [
    (["report", "--estimate", "--workers", "1000000000000000"], "argument --workers: must be an integer from 1 to 10,000"),
    (["report", "--estimate", "--workers", "0"], "argument --workers: must be an integer from 1 to 10,000, got 0"),
    (["report", "--dry-run", "--jobs", "1000"], "argument --jobs: must be an integer from 1 to 256, got 1000"),
    (["report", "--dry-run", "--retries", "101"], "argument --retries: must be an integer from 0 to 100"),
    (["report", "--dry-run", "--seeds", "101"], "argument --seeds: must be an integer from 1 to 100"),
    (["report", "--dry-run", "--seeds", "two"], "argument --seeds: must be an integer from 1 to 100, got 'two'"),
    (["train", "lenet5-1998", "--passes", "5000"], "argument --passes: must be an integer from 1 to 1,000"),
    (["train", "lenet5-1998", "--distortion-copies", "100"], "argument --distortion-copies: must be an integer from 0 to 99"),
    (["train", "lenet5-1998", "--rbf-code-seed", str(2**70)], "argument --rbf-code-seed: must be an integer from 0"),
    (["train", "lenet5-1998", "--hkk-patterns", "60001"], "argument --hkk-patterns"),
    (["train", "lenet5-1998", "--hkk-every", "1001"], "argument --hkk-every"),
    (["train", "lenet5-1998", "--minibatch-size", "60001"], "argument --minibatch-size"),
])
def test_numeric_flags_have_upper_bounds(capsys, tmp_path, argv, needle):
    code, lines, _ = _cli(capsys, *argv, *(["--out-dir", tmp_path / "r"] if argv[0] == "train" else
                                          ["--out", tmp_path / "rep"]))
    assert code == 2 and lines[0].startswith("usage:") and not any("Traceback" in ln for ln in lines), lines
    assert needle in lines[-1], lines
    assert not (tmp_path / "r").exists() and not (tmp_path / "rep").exists()


@pytest.mark.parametrize("argv, needle", [
    (["train", "classic", "--epochs", "1001"], "--epochs must be a positive integer (at most 1,000), got 1001"),
    (["train", "classic", "--batch-size", "60001"], "--batch-size must be a positive integer (at most 60,000)"),
    (["train", "lenet5-1998", "--passes", "0"], "passes must be a positive integer, got 0"),  # the library's line
    (["report", "--dry-run", "--jobs", "0"], "--jobs must be a positive integer, got 0"),
])
def test_the_lower_bounds_stay_one_library_line(capsys, tmp_path, argv, needle):
    code, lines, _ = _cli(capsys, *argv, *(["--out-dir", tmp_path / "r"] if argv[0] == "train" else []))
    assert code == 1 and len(lines) == 1 and needle in lines[0], lines


def test_the_bounds_accept_their_ends():
    from lenet1998.train import build_parser
    from lenet_repro.cli_util import int_range

    args = build_parser().parse_args(["lenet5-1998", "--passes", "1000", "--distortion-copies", "99",
                                      "--rbf-code-seed", str(2**63 - 1)])
    assert (args.passes, args.distortion_copies, args.rbf_code_seed) == (1000, 99, 2**63 - 1)
    t = int_range(1, 5, low_checked_later=True)
    assert (t("5"), t("0"), t("-3")) == (5, 0, -3)  # the low end is the library's to refuse
    with pytest.raises(Exception, match="from 1 to 5, got 6"):
        t("6")
