"""Units of work, the wall-time planner, and the Ray engine's one-line errors (no cluster needed;
tests/test_ray.py runs the engine against a real two-node cluster)."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest

from lenet_repro.errors import ConfigError
from reports import report
from reports.run.engines import LOCKSTEP_GROUP, RayEngine, group_size, make_units
from reports.run.estimate import estimate, format_estimate, simulate, unit_seconds
from reports.run.plan import build_plan
from reports.run.runner import run_dir, unique_items

FULL = Path(__file__).resolve().parent.parent / "reports" / "full"


def _one_line(capsys, code, *needles):
    err = capsys.readouterr().err.strip()
    assert code != 0 and "\n" not in err and "Traceback" not in err, err
    for n in needles:
        assert n in err, err
    return err


def test_without_ray_the_engine_says_how_to_install_it(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    code = report.main(["--profile", "smoke", "--out", str(tmp_path / "o"), "--engine", "ray", "--address", "x:1"])
    _one_line(capsys, code, "needs Ray", "pip install -e '.[ray]'")


def test_a_missing_or_malformed_address_is_one_line(capsys, monkeypatch, tmp_path):
    pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    code = report.main(["--profile", "smoke", "--out", str(tmp_path / "o"), "--engine", "ray"])
    _one_line(capsys, code, "--address HOST:PORT", "ray start --head")
    code = report.main(["--profile", "smoke", "--out", str(tmp_path / "o"), "--engine", "ray", "--address", "nohost"])
    _one_line(capsys, code, "not HOST:PORT")


def test_an_unreachable_cluster_is_one_line_not_a_hang(capsys, tmp_path):
    pytest.importorskip("ray")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.time()
    code = report.main(["--profile", "smoke", "--out", str(tmp_path / "o"), "--engine", "ray",
                        "--address", f"127.0.0.1:{port}"])
    _one_line(capsys, code, f"no Ray cluster answers at 127.0.0.1:{port}", "ray start --head")
    assert time.time() - t0 < 20
    assert not (tmp_path / "o" / "runs").exists()  # nothing trained, nothing written


def test_address_without_the_ray_engine_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as e:
        report.main(["--profile", "smoke", "--address", "127.0.0.1:6379"])
    assert e.value.code == 2 and "--address needs --engine ray" in capsys.readouterr().err


def test_ray_engine_refuses_an_address_of_the_wrong_shape_before_importing_anything():
    pytest.importorskip("ray")
    with pytest.raises(ConfigError, match="not HOST:PORT"):
        RayEngine("127.0.0.1", log=lambda s: None)


def test_units_group_faithful_runs_by_split_with_distortions_first(tmp_path):
    plan = build_plan("smoke")
    unique, _ = unique_items(plan, tmp_path)
    modern = [(it, run_dir(tmp_path, it)) for it in unique if it.experiment.family == "modern"]
    faithful = [(it, run_dir(tmp_path, it)) for it in unique if it.experiment.family == "lenet1998"]
    cmp = [(it, run_dir(tmp_path, it)) for it in unique if it.experiment.family == "comparison"]
    units = make_units(modern, faithful, todo_comparison=cmp)
    assert sum(len(u.items) for u in units) == len(unique) and cmp
    assert all(len(u.items) == 1 for u in units if u.kind in ("textbook", "comparison"))
    assert {u.family for u in units} == {"modern", "lenet1998", "comparison"}
    for u in units:
        if u.kind == "lockstep":
            assert len(u.items) <= LOCKSTEP_GROUP
            assert len({(it.train_subset, it.test_subset, it.holdout) for it, _ in u.items}) == 1
    first = next(u for u in units if u.kind == "lockstep")
    assert first.items[0][0].overrides.get("distortions") or "distortions" in first.items[0][0].experiment.recipe


def test_group_size_fills_workers_within_memory_and_core_bounds():
    assert group_size(55, 1) == LOCKSTEP_GROUP
    assert group_size(55, 8) == 7
    assert group_size(55, 64) == 2  # at least a worker's 2 cores per group
    assert group_size(0, 8) == LOCKSTEP_GROUP


def test_lpt_simulation_on_hand_computed_cases():
    assert simulate([3, 3, 2, 2, 2], 2) == 7  # LPT: {3, 2, 2} and {3, 2}
    assert simulate([5, 1, 1], 3) == 5  # the critical path bounds it
    assert simulate([1.0] * 10, 1) == 10
    assert simulate([2, 2, 2, 2], 64) == 2


@pytest.mark.skipif(not (FULL / "runs").exists(), reason="needs the committed full report's records")
def test_estimate_of_the_full_profile_from_its_records():
    ests, sources = estimate(build_plan("full"), FULL, [1, 8, 64])
    one, eight, many = ests
    assert sources.get("record", 0) >= 40 and sum(sources.values()) == len(unique_items(build_plan("full"), FULL)[0])
    assert one.wall_s == pytest.approx(one.machine_s)  # one worker: the sum of every unit
    for e in ests:
        assert e.lower_bound_s <= e.wall_s + 1e-6 and e.critical_s <= e.wall_s + 1e-6
    assert one.wall_s > eight.wall_s > many.wall_s
    text = format_estimate("full", ests, sources)
    assert "critical path" in text and text.count("\n") == 5


@pytest.mark.skipif(not (FULL / "runs").exists(), reason="needs the committed full report's records")
def test_estimate_cli(capsys):
    code = report.main(["--profile", "full", "--out", str(FULL), "--estimate", "--workers", "1", "8"])
    out = capsys.readouterr().out
    assert code == 0 and "profile full" in out and out.count("\n") == 5


def test_estimate_without_records_is_one_line(capsys, tmp_path):
    code = report.main(["--profile", "smoke", "--out", str(tmp_path / "empty"), "--estimate"])
    _one_line(capsys, code, "no run records", "run the profile")


@pytest.mark.skipif(not (FULL / "runs").exists(), reason="needs the committed full report's records")
def test_an_only_subset_without_records_is_estimated_from_the_caches_other_runs(tmp_path):
    """`--only` a row whose own runs are not recorded: the cache's other runs of the same recipe scale it (it
    said "no run records under ... to estimate from" though the cache held them)."""
    import shutil

    held = FULL / "runs" / "comparison-holdout" / "svm-poly-4"
    shutil.copytree(held, tmp_path / "runs" / "comparison-holdout" / "svm-poly-4")
    plan = build_plan("full", only="comparison/svm-poly-4")
    assert [it.experiment.id for it in plan] == ["comparison/svm-poly-4"]
    ests, sources = estimate(plan, tmp_path, [1])
    assert sources == {"recipe": 1} and ests[0].wall_s > 0
    # the first ETA line: a recipe's runs predict, a family's median alone (the boosted LeNet-4 from SVM fits) not
    from reports.run.engines import Unit
    from reports.run.estimate import predicted_units

    boosted = build_plan("full", only="comparison/dist-boosted-lenet4")
    units = [Unit(it.key, [(it, tmp_path)]) for it in plan + boosted]
    assert list(predicted_units(units, tmp_path)) == [plan[0].key]
    assert estimate(boosted, tmp_path, [1])[1] == {"family": len(boosted)}  # --estimate still counts it, so named


def test_unit_seconds_spreads_a_groups_training_over_its_cores(tmp_path):
    from reports.run.engines import Unit
    from reports.run.estimate import Cost

    items = [it for it in build_plan("smoke") if it.experiment.family == "lenet1998"][:4]
    u = Unit("lockstep", [(it, tmp_path) for it in items])
    costs = {it.key: Cost(100.0, 10.0, "record") for it in items}
    assert unit_seconds(u, costs, cores=2) == pytest.approx(400 / 2 + 40 / 2)
