"""The report's cache trusts no record blindly (issue 19): a damaged or foreign record in a run's folder is
set aside (moved to <out>/set-aside/, never deleted, named in one line) and the run is trained again; the
read-only report moves nothing. And --overwrite replaces a good run only once the new one is whole."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lenet_repro import atomic, records
from lenet_repro.errors import PathError
from reports.run.plan import build_plan
from reports.run.runner import SET_ASIDE, foreign, run_dir, run_plan, trusted, unique_items

FULL = Path(__file__).resolve().parent.parent / "reports" / "full"


def test_every_committed_record_is_trusted_by_its_folder():
    """The rule must not set aside what the committed full report holds (records of older versions included)."""
    unique, _ = unique_items(build_plan("full"), FULL)
    held = [(it, run_dir(FULL, it)) for it in unique if (run_dir(FULL, it) / "result.json").exists()]
    assert len(held) > 500
    assert [(str(d), trusted(d, it)[1]) for it, d in held if trusted(d, it)[1]] == []


def test_foreign_names_what_differs():
    plan = build_plan("full")
    by_id = {it.key: it for it in plan}
    linear, knn = by_id["comparison/linear/s0"], by_id["comparison/knn-euclidean/s0"]
    rec = records.read_record(run_dir(FULL, knn))
    assert foreign(rec, knn) is None
    assert foreign(rec, linear) == "its recipe is 'knn-euclidean', the run is 'linear'"
    assert foreign(dict(rec, seed=1), knn) == "its seed is 1, the run is 0"
    j10, j1 = by_id["j-sweep/j=10/s0"], by_id["j-sweep/j=1/s0"]
    assert foreign(records.read_record(run_dir(FULL, j10)), j1) == "its config has map_j=10.0, the run has map_j=1.0"
    short = dict(rec, final=dict(rec["final"], test_n=5000))
    assert foreign(short, knn) == "it was evaluated on 5000 digits, the run is evaluated on 10000"


@pytest.mark.data
def test_a_damaged_and_a_foreign_record_are_set_aside_and_trained_again(tmp_path):
    plan = build_plan("smoke", only="comparison/linear,comparison/knn-euclidean")
    assert [it.key for it in plan] == ["comparison/linear/s0", "comparison/knn-euclidean/s0"]
    out = tmp_path / "out"
    first = {o.item.key: o.record for o in run_plan(plan, out, log=lambda s: None)}
    lin, knn = (run_dir(out, it) for it in plan)

    # damaged: a truncated record
    damaged = (lin / "result.json").read_text()[:200]
    (lin / "result.json").write_text(damaged)
    lines = []
    outs = {o.item.key: o for o in run_plan(plan, out, log=lines.append)}
    moved = [ln for ln in lines if ln.startswith("set aside")]
    assert len(moved) == 1 and str(lin) in moved[0] and "damaged" in moved[0] and "trained again" in moved[0]
    (kept,) = (out / SET_ASIDE / "comparison" / "linear").glob("*/*")
    assert (kept / "result.json").read_text() == damaged  # moved, not deleted
    assert not outs["comparison/linear/s0"].cached and outs["comparison/knn-euclidean/s0"].cached
    assert outs["comparison/linear/s0"].record["test_misses_idx"] == first["comparison/linear/s0"]["test_misses_idx"]

    # foreign: K-NN's record copied into linear's folder is not published as linear's
    shutil.copy(knn / "result.json", lin / "result.json")
    lines = []
    outs = {o.item.key: o for o in run_plan(plan, out, log=lines.append)}
    moved = [ln for ln in lines if ln.startswith("set aside")]
    assert len(moved) == 1 and "foreign: its recipe is 'knn-euclidean', the run is 'linear'" in moved[0]
    assert outs["comparison/linear/s0"].record["recipe"] == "linear"
    assert outs["comparison/linear/s0"].record["final"] == first["comparison/linear/s0"]["final"]
    assert len(list((out / SET_ASIDE).rglob("result.json"))) == 2

    # read-only: nothing is moved, the run is reported as not run, and one line says why
    (lin / "result.json").write_text("{")
    lines = []
    outs = {o.item.key: o for o in run_plan(plan, out, readonly=True, log=lines.append)}
    assert (lin / "result.json").read_text() == "{" and len(list((out / SET_ASIDE).rglob("result.json"))) == 2
    assert outs["comparison/linear/s0"].record is None and outs["comparison/linear/s0"].error == "not run"
    assert any(ln.startswith(f"not used: {lin}: its record is damaged") for ln in lines)


@pytest.mark.data
def test_a_held_out_run_is_reused_as_it_was_recorded(tmp_path):
    """A held-out run records its evaluation split's size as test_subset: that is not a foreign record."""
    plan = build_plan("smoke", only="j-sweep/j=10")
    assert plan[0].holdout and plan[0].test_subset and plan[0].holdout != plan[0].test_subset
    run_plan(plan, tmp_path, log=lambda s: None)
    lines = []
    (o,) = run_plan(plan, tmp_path, log=lines.append)
    assert o.cached and not any(ln.startswith("set aside") for ln in lines)
    assert not (tmp_path / SET_ASIDE).exists()


@pytest.mark.data
def test_overwrite_keeps_the_good_run_until_the_new_one_is_whole(tmp_path, monkeypatch):
    """A full disk when the new record is written: the old record and checkpoint are back, byte for byte."""
    from lenet1998.comparison.train import train

    d = tmp_path / "run"
    kw = dict(seed=0, train_subset=500, test_subset=300, log=lambda s: None)
    train("linear", out_dir=d, **kw)
    before = {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()}
    assert "result.json" in before

    real = atomic.write_json

    def full_disk(path, obj, **k):
        if Path(path).name == "result.json":
            raise PathError(f"cannot write {path}: No space left on device; free space and re-run")
        return real(path, obj, **k)

    monkeypatch.setattr(atomic, "write_json", full_disk)
    with pytest.raises(PathError, match="No space left"):
        train("linear", out_dir=d, overwrite=True, options={"ridge": 10.0}, **kw)
    after = {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()}
    assert after == before and not (d / records.REPLACED).exists()

    monkeypatch.setattr(atomic, "write_json", real)
    rec = train("linear", out_dir=d, overwrite=True, options={"ridge": 10.0}, **kw)
    assert rec["config"]["options"]["ridge"] == 10.0
    assert json.loads((d / "result.json").read_text())["config"]["options"]["ridge"] == 10.0
    assert not (d / records.REPLACED).exists()
