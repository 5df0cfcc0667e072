"""Real-data regression of the textbook recipe: the classic d2l LeNet, seed 0, CPU, 10 epochs on
Fashion-MNIST (about 70 s on 2 cores). The numbers must fall inside the book's own spread."""


import pytest
import torch

from reports.cli import main
from lenet_repro.records import read_record

from .expected_results import band

pytestmark = [pytest.mark.data]


@pytest.fixture(scope="module")
def classic_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("classic")
    assert main(["train", "classic", "--seed", "0", "--device", "cpu", "--out-dir", str(out)]) == 0
    return out


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["test_acc", "train_acc", "train_loss"])
def test_classic_recipe_lands_in_the_books_spread(classic_run, metric):
    rec = read_record(classic_run)
    b = band("classic", metric)
    value = rec["final"][metric]
    assert b.low <= value <= b.high, f"{metric} {value:.3f} outside [{b.low}, {b.high}] ({b.source})"


@pytest.mark.slow
def test_run_record_and_checkpoint(classic_run, capsys):
    rec = read_record(classic_run)
    assert len(rec["metrics"]) == 10 and rec["config"]["lr"] == 0.9 and rec["config"]["batch_size"] == 256
    prov = rec["provenance"]
    for key in ("torch", "torchvision", "git_commit", "device", "wall_seconds", "started_at", "host_cpu"):
        assert key in prov
    assert rec["final"]["examples_per_s"] > 0 and rec["final"]["test_misses"] == len(rec["test_misses_idx"])
    blob = torch.load(classic_run / "checkpoint.pt", weights_only=True)
    assert blob["family"] == "modern" and blob["recipe"] == "classic"
    from modern import TextbookLeNet, NetSpec
    net = TextbookLeNet(NetSpec(**{k: tuple(v) if isinstance(v, list) else v
                                   for k, v in blob["model_config"]["net"].items()}))
    net.load_state_dict(blob["state_dict"])


def test_dry_run_prints_the_books_format(tmp_path, capsys):
    assert main(["train", "classic", "--dry-run", "--out-dir", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "loss " in out and "train acc " in out and "test acc " in out and "examples/sec on cpu" in out
    assert "book  test acc" in out  # printed beside the book's numbers
