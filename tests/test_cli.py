"""Bad input at the CLI: a one-line error and a non-zero exit, never a traceback."""

import pytest
import torch

from reports.cli import main
from lenet_repro.idx import encode_idx


def _run(capsys, *argv):
    code = main(list(argv))
    err = capsys.readouterr().err.strip()
    return code, err


def _assert_one_line(err):
    assert err and "\n" not in err and "Traceback" not in err, err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_a_gpu(capsys, tmp_path):
    code, err = _run(capsys, "train", "classic", "--device", "cuda", "--out-dir", str(tmp_path / "r"))
    assert code == 1 and "no CUDA GPU is available" in err and "--device cpu" in err
    _assert_one_line(err)


def test_unknown_recipe(capsys):
    code, err = _run(capsys, "train", "lenet9")
    assert code == 1 and "unknown recipe 'lenet9'" in err
    _assert_one_line(err)


@pytest.mark.parametrize("flag", [["--epochs", "0"], ["--epochs", "-3"], ["--batch-size", "0"], ["--lr", "-1"]])
def test_non_positive_values(capsys, tmp_path, flag):
    code, err = _run(capsys, "train", "classic", *flag, "--out-dir", str(tmp_path / "r"))
    assert code == 1 and "must be" in err
    _assert_one_line(err)


def test_bad_lenet1998_option(capsys, tmp_path):
    code, err = _run(capsys, "train", "lenet5-1998", "--subsampling", "median", "--out-dir", str(tmp_path / "r"))
    assert code == 1 and "subsampling='median' is not one of" in err
    _assert_one_line(err)


def test_missing_data(capsys, tmp_path):
    code, err = _run(capsys, "train", "classic", "--data-root", str(tmp_path / "nothing"), "--out-dir",
                     str(tmp_path / "r"))
    assert code == 1 and "run `lenet data fetch fashion-mnist`" in err
    _assert_one_line(err)


def test_corrupt_data(capsys, tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    import numpy as np
    for name in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        (raw / name).write_bytes(encode_idx(np.zeros((10, 28, 28), np.uint8))[:-5])
    for name in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(encode_idx(np.zeros(10, np.uint8)))
    code, err = _run(capsys, "train", "classic", "--data-root", str(tmp_path), "--out-dir", str(tmp_path / "r"))
    assert code == 1 and "train-images-idx3-ubyte: truncated" in err and "--force" in err
    _assert_one_line(err)


def test_unknown_command(capsys):
    assert main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err


@pytest.mark.parametrize("mod,prog", [("lenet_repro.fetch", "lenet data"), ("modern.train", "lenet train"),
                                      ("lenet1998.train", "lenet train lenet5-1998"),
                                      ("lenet1998.evaluate", "lenet evaluate"), ("reports.report", "lenet report"),
                                      ("reports.stats.check", "lenet check"), ("reports", "lenet")])
def test_python_m_entry_points_run(mod, prog):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", mod, "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith(f"usage: {prog}"), (proc.stdout[:200], proc.stderr[-300:])
