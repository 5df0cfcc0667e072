"""Run records and checkpoints: atomic, self-describing, strict readers."""

import json

import pytest
import torch

from lenet_repro import records
from lenet_repro.errors import RecordError


def _record(**over):
    rec = {"schema": records.SCHEMA, "run_id": "x", "recipe": "classic", "family": "modern",
           "dataset": "fashion-mnist", "config": {}, "seed": 0, "metrics": [], "final": {"test_acc": 0.8},
           "provenance": {}}
    rec.update(over)
    return rec


def test_write_then_read(tmp_path):
    path = records.write_record(tmp_path, _record())
    assert path.name == "result.json" and records.read_record(tmp_path)["run_id"] == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"a": 1}', "not a lenet-repro run record"),
    ('[1, 2]', "not a lenet-repro run record"),
    (json.dumps(_record(schema="lenet-repro/run-record/99")), "unknown record schema"),
    (json.dumps({k: v for k, v in _record().items() if k != "final"}), "lacks fields ['final']"),
])
def test_bad_records_are_rejected_in_one_line(tmp_path, content, message):
    p = tmp_path / "result.json"
    p.write_text(content)
    with pytest.raises(RecordError, match=message.replace("[", r"\[").replace("]", r"\]")) as e:
        records.read_record(p)
    assert "\n" not in str(e.value)


_PART = {"name": "net 3", "metrics": [{"pass": 1, "test_error": 11.19}],
         "final": {"test_error": 0.02, "test_misses": 2, "test_n": 10_000}, "test_misses_idx": [3, 7],
         "test_predictions_missed": [1, 2]}


@pytest.mark.parametrize("parts, message", [
    ([], "parts is a list, expected a non-empty list"),
    ([{**_PART, "name": 3}], "parts\\[0\\] is an object, expected an object with a name"),
    ([{k: v for k, v in _PART.items() if k != "metrics"}], "parts\\[0\\] lacks metrics or final"),
    ([{**_PART, "final": {**_PART["final"], "test_misses": 3, "test_error": 0.03}}], "parts\\[0\\], net 3.*test_misses_idx holds 2"),
    ([{**_PART, "metrics": [{"pass": "one"}]}], "parts\\[0\\], net 3.*metrics\\[0\\]\\['pass'\\]"),
    ([{**_PART, "train_per_class": [5, -1]}], "parts\\[0\\]\\['train_per_class'\\] is a list, expected a list of non"),
    ([{**_PART, "train_per_class": "many"}], "parts\\[0\\]\\['train_per_class'\\] is a string"),
])
def test_a_records_parts_are_checked_as_records(tmp_path, parts, message):
    """The boosted LeNet-4's nets (record["parts"]) are read as strictly as the record itself."""
    good = records.write_record(tmp_path, _record(parts=[_PART, {**_PART, "name": "net 2", "train_per_class": [4, 0, 7]}]))
    assert [p["name"] for p in records.read_record(good)["parts"]] == ["net 3", "net 2"]
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(_record(parts=parts)))
    with pytest.raises(RecordError, match=message):
        records.read_record(p)


def test_missing_record(tmp_path):
    with pytest.raises(RecordError, match="no such run record"):
        records.read_record(tmp_path / "nope.json")


def test_checkpoint_is_weights_only_loadable(tmp_path):
    sd = {"w": torch.randn(3, 2)}
    p = records.save_checkpoint(tmp_path / "c.pt", family="modern", recipe="classic",
                                model_config={"lr": 0.9, "net": {"channels": [6, 16]}}, state_dict=sd, epoch=3)
    blob = torch.load(p, weights_only=True)
    assert blob["format"] == records.CHECKPOINT_FORMAT and blob["epoch"] == 3
    assert torch.equal(blob["state_dict"]["w"], sd["w"])
    assert torch.equal(records.load_checkpoint(p)["state_dict"]["w"], sd["w"])


def test_foreign_checkpoint_is_rejected(tmp_path):
    torch.save({"hello": 1}, tmp_path / "c.pt")
    with pytest.raises(RecordError, match="not a lenet-repro checkpoint"):
        records.load_checkpoint(tmp_path / "c.pt")
    (tmp_path / "d.pt").write_bytes(b"garbage")
    with pytest.raises(RecordError, match="not a loadable checkpoint"):
        records.load_checkpoint(tmp_path / "d.pt")


def test_config_hash_is_order_independent():
    assert records.config_hash({"a": 1, "b": 2}) == records.config_hash({"b": 2, "a": 1})
    assert records.config_hash({"a": 1}) != records.config_hash({"a": 2})


def test_the_dirty_flag_counts_code_not_what_the_report_writes(tmp_path):
    """provenance.git_commit: an edited report output (reports/<profile>/, README.md) leaves the tree clean,
    an edited source file makes it dirty."""
    import subprocess

    from lenet_repro.provenance import git_commit

    def git(*a):
        subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "reports" / "full").mkdir(parents=True)
    (tmp_path / "reports" / "full" / "REPORT.md").write_text("a\n")
    (tmp_path / "README.md").write_text("a\n")
    (tmp_path / "code.py").write_text("a = 1\n")
    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    assert git_commit(tmp_path)[1] is False
    (tmp_path / "reports" / "full" / "REPORT.md").write_text("b\n")
    (tmp_path / "README.md").write_text("b\n")
    assert git_commit(tmp_path)[1] is False
    (tmp_path / "code.py").write_text("a = 2\n")
    assert git_commit(tmp_path)[1] is True
