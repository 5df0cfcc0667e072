"""Real MNIST runs of the faithful recipe (CI-sized), resume, and the shipped checkpoints."""

import json

import pytest
import torch

from lenet1998 import LeNet5Config, pretrained
from lenet1998.data import load_mnist
from lenet1998.evaluate import evaluate_model
from lenet1998.pretrained import SHIPPED, load, shipped_path
from lenet1998.train import RunSpec, train_runs
from reports.cli import main
from lenet_repro.errors import ConfigError
from lenet_repro.records import read_record

from .expected_results import band

pytestmark = [pytest.mark.data]


@pytest.mark.slow
def test_one_full_pass_of_the_faithful_recipe(tmp_path):
    """One pass over all 60,000 patterns (online SDLM), evaluated on the full test set."""
    out = tmp_path / "run"
    assert main(["train", "lenet5-1998", "--passes", "1", "--seed", "0", "--out-dir", str(out)]) == 0
    rec = read_record(out)
    b = band("lenet5-1998 1 pass", "test_error")
    err = rec["final"]["test_error"]
    assert b.low <= err <= b.high, f"test error {err:.2f}% outside [{b.low}, {b.high}] ({b.source})"
    assert rec["final"]["test_n"] == 10000 and rec["final"]["train_n"] == 60000
    assert rec["final"]["test_misses"] == len(rec["test_misses_idx"]) == round(err * 100)
    rates = rec["sdlm"]["pass1_rates"]
    assert 0 < rates["min"] < rates["median"] < rates["max"] <= 0.0005 / 0.02 + 1e-9  # eta / mu caps them
    assert rec["provenance"]["backend"] in ("fast", "reference")
    blob = torch.load(out / "checkpoint.pt", weights_only=True)
    assert blob["passes_done"] == 1 and blob["model_config"]["map_j"] == LeNet5Config().map_j


def _spec(tmp_path, name, passes=3):
    cfg = LeNet5Config(passes=passes, schedule=(0.0005, 0.0002, 0.0001))
    return RunSpec("lenet5-1998", cfg, seed=7, out_dir=tmp_path / name)


def test_an_interrupted_run_resumes_to_the_identical_outcome(tmp_path):
    data = load_mnist(train_subset=3000, test_subset=500)
    (straight,) = train_runs([_spec(tmp_path, "straight")], data=data, log=lambda s: None)

    def interrupt(line):
        if "pass  2/3" in line:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_runs([_spec(tmp_path, "cut")], data=data, log=interrupt)
    assert torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)["passes_done"] == 2
    assert not (tmp_path / "cut" / "result.json").exists()
    with pytest.raises(ConfigError, match="already holds a run; pass --resume"):
        train_runs([_spec(tmp_path, "cut")], data=data, log=lambda s: None)
    (resumed,) = train_runs([_spec(tmp_path, "cut")], data=data, resume=True, log=lambda s: None)
    untimed = lambda ms: [{k: v for k, v in m.items() if k not in ("seconds", "examples_per_s")} for m in ms]  # noqa
    assert untimed(resumed["metrics"]) == untimed(straight["metrics"])
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["test_misses_idx"] == straight["test_misses_idx"]


def test_resume_refuses_a_different_config(tmp_path):
    data = load_mnist(train_subset=500, test_subset=100)
    train_runs([_spec(tmp_path, "r", passes=1)], data=data, log=lambda s: None)
    other = RunSpec("lenet5-1998", LeNet5Config(passes=1, map_j=1.0), seed=7, out_dir=tmp_path / "r")
    with pytest.raises(ConfigError, match="different config or seed"):
        train_runs([other], data=data, resume=True, log=lambda s: None)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoints_reproduce_their_recorded_misses_exactly(name):
    model = pretrained(name)
    record = json.loads(shipped_path(name).with_suffix(".json").read_text())
    data = load_mnist()
    res = evaluate_model(model, data.inputs("test", model.config.input_scaling), data.test_labels)
    assert res.misses == record["final"]["test_misses"]
    assert res.missed_idx == record["test_misses_idx"]
    _, blob = load(name)
    assert blob["final"]["test_misses"] == res.misses


def test_evaluate_cli(capsys):
    assert main(["evaluate", "lenet5"]) == 0
    out = capsys.readouterr().out
    assert "test error" in out and "misses of 10000" in out and "paper" in out and "same as now" in out
    assert main(["evaluate", "no/such/checkpoint.pt"]) == 1
    assert "no such checkpoint or shipped name" in capsys.readouterr().err


def test_dry_run_cli(tmp_path, capsys):
    assert main(["train", "lenet5-1998", "--dry-run", "--out-dir", str(tmp_path / "d")]) == 0
    assert "pass  1/1" in capsys.readouterr().out


def test_without_the_fast_path_training_falls_back_with_one_notice(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "LENET_NO_FAST": "1"}
    p = subprocess.run([sys.executable, "-m", "lenet1998.train", "lenet5-1998", "--dry-run", "--out-dir",
                        str(tmp_path / "r")], env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    notices = [ln for ln in p.stderr.splitlines() if "fast path unavailable" in ln]
    assert len(notices) == 1 and "reference path" in notices[0]
    assert read_record(tmp_path / "r")["provenance"]["backend"] == "reference"


def test_resume_refuses_a_different_data_split(tmp_path):
    train_runs([_spec(tmp_path, "r", passes=1)], data=load_mnist(train_subset=500, test_subset=100),
               log=lambda s: None)
    with pytest.raises(ConfigError, match="different data split"):
        train_runs([_spec(tmp_path, "r", passes=1)], data=load_mnist(train_subset=400, test_subset=100),
                   resume=True, log=lambda s: None)
