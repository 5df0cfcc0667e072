"""Bad input, by class (GitHub issue #8): every one ends with a non-zero exit and exactly one line on
stderr naming the problem and the fix (argparse's own usage + error for a bad flag value), never a
traceback, never silent acceptance, and never a half-written file.

1. OS errors on user paths (data files, data roots, --out-dir / --out, full disk, read-only), seeds out
   of range, malformed run records and checkpoints whose weights do not fit their config;
2. values that used to be silently accepted (subsets, holdout, booleans, --resume with --overwrite,
   every numeric LeNet-5 option);
3. `lenet evaluate` compares like with like (the split the run recorded);
4. the textbook trainer checkpoints every epoch and resumes to the identical result;
5. one lenet process per output folder (a lock), tested with a real second process;
6. the report's overall progress line;
and the one `--device auto` rule.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lenet_repro import atomic, records
from lenet_repro.errors import BusyError, ConfigError, DataError, PathError, RecordError
from lenet_repro.idx import encode_idx
from reports.cli import main

ROOT = Path(__file__).resolve().parent.parent
# a tiny textbook run: ReLU (lr 0.1) learns within two epochs of 512 images, so its numbers depend on
# the data order and the weights (an identity check on a run stuck at chance level could not fail)
TINY = ["exercise-relu", "--train-subset", "512", "--test-subset", "200", "--batch-size", "64", "--device", "cpu"]


def _cli(capsys, *argv) -> tuple[int, list[str], str]:
    """(exit code, stderr lines, stdout) of `lenet <argv>` run in-process; argparse errors give code 2."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse: usage + error
        code = e.code
    out, err = capsys.readouterr()
    return code, err.strip().splitlines(), out


def _one_line_error(code, lines, *needles):
    assert code not in (0, None), lines
    assert len(lines) == 1, lines
    assert not any("Traceback" in ln for ln in lines)
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def _argparse_error(code, lines, *needles):
    assert code == 2, (code, lines)
    assert not any("Traceback" in ln for ln in lines)
    assert lines and lines[0].startswith("usage:") and ": error: argument " in lines[-1], lines
    for n in needles:
        assert n in lines[-1], (n, lines[-1])


def _no_partial_files(folder: Path):
    """Nothing half-written: no temporary files of atomic writes are left anywhere below `folder`."""
    left = [p for p in Path(folder).rglob("*") if p.name.endswith(".tmp") or p.name == ".lenet.lock"]
    assert not left, left


# ---------------------------------------------------------------------------------------------------------
# 1. OS errors on user paths, seeds, records, checkpoints, full disk
# ---------------------------------------------------------------------------------------------------------

def _fake_raw(root: Path, folder="FashionMNIST") -> Path:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        (raw / name).write_bytes(encode_idx(np.zeros((10, 28, 28), np.uint8)))
    for name in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(encode_idx(np.zeros(10, np.uint8)))
    return raw


@pytest.mark.parametrize("command", [["train", "classic"], ["data", "fetch", "fashion-mnist"]])
def test_a_raw_data_file_that_is_a_folder(capsys, tmp_path, command):
    raw = _fake_raw(tmp_path / "data")
    (raw / "train-images-idx3-ubyte").unlink()
    (raw / "train-images-idx3-ubyte").mkdir()
    code, lines, _ = _cli(capsys, *command, "--data-root", tmp_path / "data", *(
        ["--out-dir", tmp_path / "r"] if command[0] == "train" else []))
    _one_line_error(code, lines, "train-images-idx3-ubyte: cannot read: is a folder, not a file",
                    "lenet data fetch fashion-mnist --force")
    assert not (tmp_path / "r").exists()
    from lenet_repro import datasets

    with pytest.raises(DataError, match="is a folder, not a file"):
        datasets.load("fashion-mnist", "train", tmp_path / "data")


def test_an_unreadable_raw_data_file(capsys, tmp_path, monkeypatch):
    # tests may run as root, which ignores file modes: simulate the EACCES that open() gives a user
    raw = _fake_raw(tmp_path / "data")
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == "train-images-idx3-ubyte":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    code, lines, _ = _cli(capsys, "train", "classic", "--data-root", tmp_path / "data", "--out-dir", tmp_path / "r")
    _one_line_error(code, lines, str(raw / "train-images-idx3-ubyte"), "permission denied", "make it readable",
                    "--data-root")


@pytest.mark.parametrize("command", [["train", "classic"], ["train", "lenet5-1998", "--passes", "1"],
                                     ["data", "fetch", "mnist"]])
def test_a_data_root_that_is_a_file(capsys, tmp_path, command):
    f = tmp_path / "not-a-folder"
    f.write_text("x")
    extra = ["--out-dir", tmp_path / "r"] if command[0] == "train" else []
    code, lines, _ = _cli(capsys, *command, "--data-root", f, *extra)
    _one_line_error(code, lines, str(f), "not a folder", "--data-root")
    assert f.read_text() == "x" and not (tmp_path / "r").exists()


def test_a_data_root_from_the_environment_that_is_a_file(capsys, tmp_path, monkeypatch):
    f = tmp_path / "not-a-folder"
    f.write_text("x")
    monkeypatch.setenv("LENET_DATA_ROOT", str(f))
    code, lines, _ = _cli(capsys, "train", "classic", "--out-dir", tmp_path / "r")
    _one_line_error(code, lines, str(f), "not a folder", "$LENET_DATA_ROOT")


@pytest.mark.parametrize("argv, needle", [
    (["train", "lenet5-1998", "--out-dir", "{file}"], "is a file"),
    (["train", "classic", "--seed", "-1", "--out-dir", "{tmp}/r"], "--seed must be an integer"),
    (["check", "{record}"], "final['test_error'] is null"),
])
def test_bad_input_in_a_real_process(tmp_path, argv, needle):
    """The whole process, as a user runs it: exit 1 (`lenet check`: 2, bad input), one line on stderr, no traceback."""
    (tmp_path / "file").write_text("x")
    rec = _good_record()
    rec["final"]["test_error"] = None
    (tmp_path / "result.json").write_text(json.dumps(rec))
    argv = [a.format(file=tmp_path / "file", tmp=tmp_path, record=tmp_path / "result.json") for a in argv]
    p = subprocess.run([sys.executable, "-m", "reports.cli", *argv], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    lines = p.stderr.strip().splitlines()
    _one_line_error(p.returncode, lines, needle)
    assert p.returncode == (2 if argv[0] == "check" else 1) and (tmp_path / "file").read_text() == "x"


@pytest.mark.parametrize("command, flag", [
    (["train", "classic"], "--out-dir"),
    (["train", "lenet5-1998"], "--out-dir"),
    (["report", "--profile", "smoke", "--only", "textbook/classic"], "--out"),
])
@pytest.mark.parametrize("where", ["file", "under-a-file"])
def test_an_output_folder_that_is_a_file(capsys, tmp_path, command, flag, where):
    f = tmp_path / "taken"
    f.write_text("keep me")
    target = f if where == "file" else f / "sub"
    code, lines, _ = _cli(capsys, *command, flag, target)
    _one_line_error(code, lines, str(target), "is a file", f"give {flag} a folder path")
    assert f.read_text() == "keep me"


@pytest.fixture
def read_only(tmp_path, monkeypatch):
    """A folder that behaves as if on a read-only file system (EROFS from mkdir/open-for-writing below it;
    root ignores permissions, so a chmod would not do)."""
    ro = tmp_path / "ro"
    (ro / "existing").mkdir(parents=True)  # made before the file system "turns read-only"
    real_mkdir, real_open = os.mkdir, os.open

    def below(p):
        return str(Path(os.fspath(p)).absolute()).startswith(str(ro) + os.sep)

    def mkdir(p, *a, **k):
        if below(p):
            raise OSError(errno.EROFS, "Read-only file system", os.fspath(p))
        return real_mkdir(p, *a, **k)

    def open_(p, flags, *a, **k):
        if below(p) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system", os.fspath(p))
        return real_open(p, flags, *a, **k)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", open_)
    return ro


@pytest.mark.parametrize("command, flag", [
    (["train", "classic"], "--out-dir"),
    (["train", "lenet5-1998"], "--out-dir"),
    (["report", "--profile", "smoke", "--only", "textbook/classic"], "--out"),
])
@pytest.mark.parametrize("exists", [True, False])
def test_an_output_folder_on_a_read_only_file_system(capsys, read_only, command, flag, exists):
    target = read_only / ("existing" if exists else "run")
    code, lines, _ = _cli(capsys, *command, flag, target)
    _one_line_error(code, lines, str(target), "read-only file system", f"choose a writable {flag}")
    assert list(read_only.rglob("*")) == [read_only / "existing"]  # nothing written, nothing left


@pytest.mark.parametrize("recipe", ["classic", "lenet5-1998"])
@pytest.mark.parametrize("seed", ["-1", str(2**63), str(2**64)])
def test_seeds_outside_0_to_2_63(capsys, tmp_path, recipe, seed):
    code, lines, _ = _cli(capsys, "train", recipe, "--seed", seed, "--out-dir", tmp_path / "r")
    _one_line_error(code, lines, "--seed must be an integer from 0 to 9223372036854775807", f"got {seed}")
    assert not (tmp_path / "r").exists()


def test_the_largest_seed_is_accepted_by_both_trainers():
    from lenet_repro.device import check_seed, seed_everything

    assert check_seed(2**63 - 1) == 2**63 - 1
    seed_everything(2**63 - 1)
    for bad in (-1, 2**63, 1.5, True, "3"):
        with pytest.raises(ConfigError, match="--seed must be an integer"):
            check_seed(bad)


def _good_record() -> dict:
    return json.loads((ROOT / "lenet1998" / "checkpoints" / "lenet5.json").read_text())


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r["final"].__setitem__("test_error", None), "final['test_error'] is null, expected a number"),
    (lambda r: r["final"].__setitem__("test_error", "0.9"), "final['test_error'] is a string, expected a number"),
    (lambda r: r["final"].__setitem__("test_misses", 80.5), "final['test_misses'] is float"),
    (lambda r: r["final"].__setitem__("test_n", -1), "final['test_n'] is int, expected a non-negative integer"),
    (lambda r: r["final"].__setitem__("test_acc", True), "final['test_acc'] is a boolean"),
    (lambda r: r.__setitem__("config", None), "config is null, expected an object"),
    (lambda r: r.__setitem__("final", [1]), "final is a list, expected an object"),
    (lambda r: r.__setitem__("metrics", {}), "metrics is an object, expected a list"),
    (lambda r: r["metrics"].__setitem__(0, 3), "metrics[0] is int, expected an object"),
    (lambda r: r["metrics"][1].__setitem__("test_error", None), "metrics[1]['test_error'] is null"),
    (lambda r: r.__setitem__("seed", "0"), "seed is a string, expected an integer"),
    (lambda r: r.__setitem__("recipe", 7), "recipe is int, expected a string"),
    (lambda r: r.__setitem__("provenance", None), "provenance is null"),
    (lambda r: r.__setitem__("test_misses_idx", [1, "2"]), "test_misses_idx is a list, expected a list of integers"),
])
def test_a_malformed_run_record_is_one_line(capsys, tmp_path, mutate, message):
    rec = _good_record()
    p = tmp_path / "result.json"
    p.write_text(json.dumps(rec))
    assert records.read_record(p)["final"]["test_misses"] == rec["final"]["test_misses"]
    mutate(rec)
    p.write_text(json.dumps(rec))
    with pytest.raises(RecordError, match=message.replace("[", r"\[").replace("]", r"\]")):
        records.read_record(p)
    code, lines, _ = _cli(capsys, "check", p)
    _one_line_error(code, lines, str(p), "malformed run record", "re-run the training")


def test_a_diverged_run_with_nan_metrics_still_reads(tmp_path):
    rec = _good_record()
    rec["final"]["train_loss"] = float("nan")
    rec["metrics"][0]["train_loss"] = float("nan")
    p = tmp_path / "result.json"
    p.write_text(json.dumps(rec))  # json writes NaN
    assert np.isnan(records.read_record(p)["final"]["train_loss"])


def test_a_result_json_that_is_a_folder(capsys, tmp_path):
    (tmp_path / "run" / "result.json").mkdir(parents=True)
    code, lines, _ = _cli(capsys, "check", tmp_path / "run" / "result.json")
    _one_line_error(code, lines, "no such run record")


def _shipped_blob() -> dict:
    return torch.load(ROOT / "lenet1998" / "checkpoints" / "lenet5.pt", weights_only=True)


def _save_blob(path: Path, blob: dict) -> Path:
    torch.save(blob, path)
    return path


@pytest.mark.parametrize("damage, message", [
    (lambda b: b["state_dict"].pop("C5.weight"), "missing ['C5.weight']"),
    (lambda b: b["state_dict"].__setitem__("F6.weight", torch.zeros(3, 3)), "wrong shape: F6.weight (3, 3)"),
    (lambda b: b["state_dict"].__setitem__("extra", torch.zeros(1)), "unexpected ['extra']"),
    (lambda b: b["model_config"].__setitem__("c3_table", "dense"), "wrong shape"),
    (lambda b: b["model_config"].__setitem__("output", "linear") or b["model_config"].__setitem__(
        "loss", "cross_entropy"), "do not fit"),
    (lambda b: b.pop("state_dict"), "'state_dict' is missing"),
    (lambda b: b.__setitem__("model_config", None), "'model_config' is null"),
    (lambda b: b["model_config"].__setitem__("passes", "20"), "passes (--passes) must be an integer"),
])
def test_a_checkpoint_whose_weights_do_not_fit_its_config(capsys, tmp_path, damage, message):
    from lenet1998.pretrained import load

    blob = _shipped_blob()
    damage(blob)
    p = _save_blob(tmp_path / "checkpoint.pt", blob)
    with pytest.raises(RecordError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
                       .replace(")", r"\)")):
        load(str(p))
    code, lines, _ = _cli(capsys, "evaluate", p)
    _one_line_error(code, lines, str(p))


def test_a_textbook_checkpoint_given_to_evaluate(capsys, tmp_path):
    p = records.save_checkpoint(tmp_path / "c.pt", family="modern", recipe="classic", model_config={},
                                state_dict={"w": torch.zeros(1)})
    code, lines, _ = _cli(capsys, "evaluate", p)
    _one_line_error(code, lines, "is a 'modern' checkpoint, not a LeNet-5 (1998) one", "result.json")


@pytest.mark.data
def test_resume_from_a_1998_checkpoint_that_lacks_a_tensor(capsys, tmp_path):
    from lenet1998.recipes import LENET1998_RECIPES

    out = tmp_path / "run"
    cfg = LENET1998_RECIPES["lenet5-1998"].replace(passes=1)
    sd = dict(_shipped_blob()["state_dict"])
    sd.pop("S2.coef")
    records.save_checkpoint(out / "checkpoint.pt", family="lenet1998", recipe="lenet5-1998",
                            model_config=cfg.to_dict(), state_dict=sd, seed=0, passes_done=0, metrics=[], rates=[],
                            train_seconds=0.0, eval_seconds=0.0, final=None,
                            data={"train": 100, "test": 50, "holdout": 0})
    code, lines, _ = _cli(capsys, "train", "lenet5-1998", "--passes", "1", "--train-subset", "100",
                          "--test-subset", "50", "--resume", "--out-dir", out)
    _one_line_error(code, lines, "the weights do not fit", "missing ['S2.coef']")
    assert not (out / "result.json").exists()


@pytest.mark.data
def test_resume_from_a_textbook_checkpoint_that_lacks_a_tensor(capsys, tmp_path):
    from modern.recipes import get_recipe
    from modern.train import train

    out = tmp_path / "run"
    recipe = get_recipe("exercise-relu").with_overrides(epochs=2, batch_size=64)

    def stop_after_epoch_1(line):
        if line.startswith("epoch 1/2"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(recipe, device="cpu", out_dir=out, train_subset=512, test_subset=200, log=stop_after_epoch_1)
    blob = torch.load(out / "checkpoint.pt", weights_only=True)
    blob["state_dict"].pop("0.bias")
    torch.save(blob, out / "checkpoint.pt")
    code, lines, _ = _cli(capsys, "train", *TINY, "--epochs", "2", "--resume", "--out-dir", out)
    _one_line_error(code, lines, "the weights do not fit", "missing ['0.bias']")
    assert not (out / "result.json").exists()


def test_a_full_disk_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "result.json"
    atomic.write_json(target, {"old": True})

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(PathError) as e:
        atomic.write_json(target, {"new": True}, flag="--out-dir")
    msg = str(e.value)
    assert "\n" not in msg and str(target) in msg and "no space left" in msg and "free space on" in msg
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_an_atomic_write_leaves_the_mode_a_plain_write_would(tmp_path):
    """Not the 0600 of a temporary file: 0666 less the umask for a new file, the old mode for a rewritten one
    (a report or figure another user, or a web server, reads)."""
    old = os.umask(0o022)
    try:
        atomic.write_text(tmp_path / "REPORT.md", "x")
        os.umask(0o077)
        atomic.write_text(tmp_path / "private.md", "x")
        (tmp_path / "shared.csv").write_text("old")
        os.chmod(tmp_path / "shared.csv", 0o640)
        atomic.write_text(tmp_path / "shared.csv", "new")
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {"REPORT.md": 0o644, "private.md": 0o600, "shared.csv": 0o640}


def test_a_read_only_target_of_an_atomic_write(tmp_path, monkeypatch):
    import tempfile

    def read_only(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(PathError, match="read-only file system; choose a writable --out"):
        atomic.write_text(tmp_path / "REPORT.md", "x", flag="--out")
    assert not list(tmp_path.iterdir())


def test_an_error_about_another_file_inside_an_atomic_write_is_not_blamed_on_the_target(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic.atomic_path(tmp_path / "copy.pt") as tmp:
            import shutil

            shutil.copyfile(tmp_path / "no-such-source.pt", tmp)
    assert not list(tmp_path.iterdir())


@pytest.mark.data
def test_a_full_disk_during_training_is_one_line_and_the_run_resumes(capsys, tmp_path, monkeypatch):
    out = tmp_path / "run"
    real = os.replace

    def replace(src, dst, *a, **k):  # the disk fills up just as the run record is written
        if Path(dst).name == "result.json":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", replace)
    code, lines, _ = _cli(capsys, "train", *TINY, "--epochs", "1", "--out-dir", out)
    _one_line_error(code, lines, str(out / "result.json"), "no space left on the device", "free space on")
    _no_partial_files(tmp_path)
    assert not (out / "result.json").exists()
    assert torch.load(out / "checkpoint.pt", weights_only=True)["epochs_done"] == 1  # nothing lost
    monkeypatch.setattr(os, "replace", real)
    code, lines, _ = _cli(capsys, "train", *TINY, "--epochs", "1", "--resume", "--out-dir", out)
    assert code == 0, lines
    assert records.read_record(out)["config"]["epochs"] == 1


# ---------------------------------------------------------------------------------------------------------
# 2. values that used to be accepted silently
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("recipe", ["classic", "lenet5-1998"])
@pytest.mark.parametrize("flag, value, needle", [
    ("--train-subset", "0", "--train-subset must be an integer from 1 to 60,000"),
    ("--train-subset", "-5", "--train-subset must be an integer from 1 to 60,000"),
    ("--train-subset", "60001", "--train-subset must be an integer from 1 to 60,000"),
    ("--test-subset", "0", "--test-subset must be an integer from 1 to 10,000"),
    ("--test-subset", "10001", "--test-subset must be an integer from 1 to 10,000"),
])
def test_subsets_outside_the_split(capsys, tmp_path, recipe, flag, value, needle):
    code, lines, _ = _cli(capsys, "train", recipe, flag, value, "--out-dir", tmp_path / "r")
    _one_line_error(code, lines, needle, f"got {value}")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("args, needle", [
    (["--holdout", "0"], "--holdout must be an integer from 1 to 59,999"),
    (["--holdout", "-3"], "--holdout must be an integer from 1 to 59,999"),
    (["--holdout", "60000"], "--holdout must be an integer from 1 to 59,999"),
    (["--train-subset", "500", "--holdout", "500"], "--holdout must be an integer from 1 to 499"),
    (["--holdout", "100", "--test-subset", "50"], "--test-subset has no effect with --holdout"),
])
def test_holdout_ranges(capsys, tmp_path, args, needle):
    code, lines, _ = _cli(capsys, "train", "lenet5-1998", *args, "--out-dir", tmp_path / "r")
    _one_line_error(code, lines, needle)


@pytest.mark.parametrize("value", ["maybe", "2", "", "on"])
def test_a_boolean_option_rejects_anything_but_true_false(capsys, tmp_path, value):
    code, lines, _ = _cli(capsys, "train", "lenet5-1998", "--rbf-trainable", value, "--out-dir", tmp_path / "r")
    _argparse_error(code, lines, "--rbf-trainable", "is not a boolean; use true/false, 1/0 or yes/no")


def test_boolean_spellings():
    from lenet1998.train import build_parser, config_from_args

    for text, want in [("true", True), ("YES", True), ("1", True), ("false", False), ("No", False), ("0", False)]:
        args = build_parser().parse_args(["lenet5-1998", "--rbf-trainable", text])
        assert config_from_args(args).rbf_trainable is want


@pytest.mark.parametrize("recipe", ["classic", "lenet5-1998"])
def test_resume_with_overwrite(capsys, tmp_path, recipe):
    code, lines, _ = _cli(capsys, "train", recipe, "--resume", "--overwrite", "--out-dir", tmp_path / "r")
    _one_line_error(code, lines, "--resume and --overwrite contradict each other", "pass only one of them")


@pytest.mark.parametrize("flag, value, needle", [
    ("--passes", "0", "passes must be a positive integer"),
    ("--passes", "-2", "passes must be a positive integer"),
    ("--mu", "0", "mu must be positive"),
    ("--mu", "inf", "mu (--mu) must be a finite number"),
    ("--map-j", "-1", "map_j must be positive"),
    ("--map-j", "nan", "map_j (--map-j) must be a finite number"),
    ("--hkk-patterns", "0", "hkk_patterns must be >= 1"),
    ("--hkk-output-curvature", "0", "hkk_output_curvature (--hkk-output-curvature) must be positive"),
    ("--hkk-output-curvature", "-inf", "must be a finite number"),
    ("--sgd-rate-scale", "0", "sgd_rate_scale must be positive"),
    ("--minibatch-size", "0", "minibatch_size"),
    ("--minibatch-lr", "-0.1", "minibatch_lr"),
    ("--distortion-copies", "-1", "copies must be non-negative"),
    ("--translate-px", "-1", "ranges and copies must be non-negative"),
    ("--translate-px", "inf", "translate_px (--translate-px) must be a finite number"),
    ("--scale-range", "1", "scale_range and squeeze_range must be below 1"),
    ("--squeeze-range", "1.5", "scale_range and squeeze_range must be below 1"),
    ("--shear-range", "-0.1", "must be non-negative"),
    ("--subsampling-coef-init", "nan", "subsampling_coef_init (--subsampling-coef-init) must be a finite number"),
    ("--schedule", "0.001,-1", "schedule (--schedule) must be a non-empty list of positive finite rates"),
    ("--schedule", "0.001,inf", "positive finite rates"),
])
def test_every_numeric_lenet5_option_is_range_checked(capsys, tmp_path, flag, value, needle):
    code, lines, _ = _cli(capsys, "train", "lenet5-1998", f"{flag}={value}", "--out-dir", tmp_path / "r")
    _one_line_error(code, lines, needle)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("flag, value", [("--schedule", "a,b"), ("--schedule", ""), ("--passes", "1.5"),
                                         ("--mu", "x")])
def test_unparsable_lenet5_values_are_argparse_errors(capsys, tmp_path, flag, value):
    code, lines, _ = _cli(capsys, "train", "lenet5-1998", f"{flag}={value}", "--out-dir", tmp_path / "r")
    _argparse_error(code, lines, flag)


@pytest.mark.parametrize("flag, value, needle", [
    ("--epochs", "0", "--epochs must be a positive integer"),
    ("--epochs", "-1", "--epochs must be a positive integer"),
    ("--batch-size", "0", "--batch-size must be a positive integer"),
    ("--lr", "0", "--lr must be positive"),
    ("--lr", "inf", "--lr must be positive and finite"),
    ("--lr", "nan", "--lr must be positive and finite"),
])
def test_textbook_values(capsys, tmp_path, flag, value, needle):
    code, lines, _ = _cli(capsys, "train", "classic", flag, value, "--out-dir", tmp_path / "r")
    _one_line_error(code, lines, needle)


def test_a_config_of_the_wrong_types_is_refused_not_coerced():
    from lenet1998.config import LeNet5Config

    for bad in ({"passes": "20"}, {"passes": True}, {"map_j": "10"}, {"rbf_trainable": "false"},
                {"schedule": [0.001, None]}, {"activation": 3}):
        with pytest.raises(ConfigError):
            LeNet5Config.from_dict(bad)
    with pytest.raises(ConfigError, match="must be a mapping"):
        LeNet5Config.from_dict(None)
    with pytest.raises(ConfigError, match="passes must be a positive integer"):
        LeNet5Config(passes=0)  # direct construction validates too


@pytest.mark.parametrize("args, needle", [(["--retries", "-1"], "--retries must be a non-negative integer"),
                                          (["--jobs", "0"], "--jobs must be a positive integer")])
def test_report_values(capsys, tmp_path, args, needle):
    code, lines, _ = _cli(capsys, "report", "--profile", "smoke", *args, "--out", tmp_path / "rep")
    _one_line_error(code, lines, needle)
    assert not (tmp_path / "rep").exists()


# ---------------------------------------------------------------------------------------------------------
# 3. `lenet evaluate` evaluates on the split the run recorded
# ---------------------------------------------------------------------------------------------------------

def _recorded_checkpoint(tmp_path: Path, data: dict) -> tuple[Path, int]:
    """The shipped model as if trained on a smaller split: its checkpoint records `data` and the misses."""
    from lenet1998.data import load_mnist
    from lenet1998.evaluate import evaluate_model, recorded_split
    from lenet1998.pretrained import load

    model, blob = load("lenet5")
    blob = dict(blob, data=data)
    split = recorded_split(blob)
    d = load_mnist(None, split.train_subset, split.test_subset, split.holdout)
    res = evaluate_model(model, d.inputs("test", model.config.input_scaling), d.test_labels)
    blob["final"] = dict(blob["final"], test_misses=res.misses, test_n=res.n)
    return _save_blob(tmp_path / "checkpoint.pt", blob), res.misses


@pytest.mark.data
def test_evaluate_uses_the_recorded_test_subset(capsys, tmp_path):
    p, misses = _recorded_checkpoint(tmp_path, {"train": 60000, "test": 500, "holdout": 0})
    code, lines, out = _cli(capsys, "evaluate", p)
    assert code == 0, lines
    assert f"({misses} misses of 500) on the first 500 MNIST test digits" in out
    assert f"recorded at training time: {misses} misses on the same split (same as now)" in out
    assert "DIFFERENT" not in out
    code, lines, out = _cli(capsys, "evaluate", p, "--full-test-set")
    assert code == 0 and "misses of 10000) on the 10,000 MNIST test digits" in out
    assert "not comparable with now" in out and "DIFFERENT" not in out and "same as now" not in out


@pytest.mark.data
def test_evaluate_uses_the_recorded_holdout(capsys, tmp_path):
    p, misses = _recorded_checkpoint(tmp_path, {"train": 900, "test": 100, "holdout": 100})
    code, lines, out = _cli(capsys, "evaluate", p)
    assert code == 0, lines
    assert "held-out error" in out and f"({misses} misses of 100) on the held-out last 100 of the first 1,000" in out
    assert "same split (same as now)" in out


def test_a_malformed_recorded_split_is_one_line(capsys, tmp_path):
    blob = _shipped_blob()
    blob["data"] = {"train": "all", "test": 10000, "holdout": 0}
    p = _save_blob(tmp_path / "checkpoint.pt", blob)
    code, lines, _ = _cli(capsys, "evaluate", p)
    _one_line_error(code, lines, "malformed checkpoint", "'data' entry")


# ---------------------------------------------------------------------------------------------------------
# 4. the textbook trainer checkpoints every epoch and resumes exactly
# ---------------------------------------------------------------------------------------------------------

def _untimed(rows):
    return [{k: v for k, v in r.items() if k not in ("seconds", "examples_per_s")} for r in rows]


@pytest.mark.data
def test_an_interrupted_textbook_run_resumes_to_the_identical_result(capsys, tmp_path):
    from modern.recipes import get_recipe
    from modern.train import train

    recipe = get_recipe("exercise-relu").with_overrides(epochs=2, batch_size=64)
    kw = dict(device="cpu", train_subset=512, test_subset=200, log=lambda s: None)
    straight = train(recipe, out_dir=tmp_path / "straight", **kw)

    def stop_after_epoch_1(line):
        if line.startswith("epoch 1/2"):
            raise KeyboardInterrupt

    cut = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        train(recipe, out_dir=cut, **{**kw, "log": stop_after_epoch_1})
    blob = torch.load(cut / "checkpoint.pt", weights_only=True)
    assert blob["epochs_done"] == 1 and len(blob["history"]) == 1 and not (cut / "result.json").exists()
    _no_partial_files(tmp_path)
    # the same rules as lenet5-1998: an existing run needs --resume (or --overwrite)
    with pytest.raises(ConfigError, match="already holds a run; pass --resume"):
        train(recipe, out_dir=cut, **kw)
    # resumed through the CLI, as a user would
    code, lines, out = _cli(capsys, "train", *TINY, "--epochs", "2", "--resume", "--out-dir", cut)
    assert code == 0, lines
    resumed = records.read_record(cut)
    assert _untimed(resumed["metrics"]) == _untimed(straight["metrics"])
    assert {k: v for k, v in resumed["final"].items() if k != "examples_per_s"} == \
        {k: v for k, v in straight["final"].items() if k != "examples_per_s"}
    assert resumed["test_misses_idx"] == straight["test_misses_idx"] and resumed["run_id"] == straight["run_id"]
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)["state_dict"]
    b = torch.load(cut / "checkpoint.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # the check can fail: the second epoch changed the weights, and another seed gives other numbers
    assert not torch.equal(blob["state_dict"]["0.weight"], b["0.weight"])
    other = train(recipe, seed=1, **kw)
    assert _untimed(other["metrics"]) != _untimed(straight["metrics"])


@pytest.mark.data
@pytest.mark.parametrize("change, needle", [
    (["--seed", "1"], "different config or seed"),
    (["--lr", "0.05"], "different config or seed"),
    (["--train-subset", "256"], "different data split"),
    (["--recipe", "classic"], "belongs to recipe 'exercise-relu', not 'classic'"),
])
def test_textbook_resume_refuses_another_run(capsys, tmp_path, change, needle):
    out = tmp_path / "r"
    code, lines, _ = _cli(capsys, "train", *TINY, "--epochs", "1", "--out-dir", out)
    assert code == 0, lines
    argv = list(TINY)
    if change[0] == "--recipe":
        argv[0] = change[1]
    else:
        i = argv.index(change[0]) if change[0] in argv else None
        argv = argv[:i] + change + argv[i + 2:] if i is not None else argv + change
    code, lines, _ = _cli(capsys, "train", *argv, "--epochs", "1", "--resume", "--out-dir", out)
    _one_line_error(code, lines, needle)


@pytest.mark.data
@pytest.mark.parametrize("argv", [TINY, ["lenet5-1998", "--train-subset", "100", "--test-subset", "50"]])
def test_a_folder_with_only_a_run_record_is_not_silently_overwritten(capsys, tmp_path, argv):
    out = tmp_path / "r"
    out.mkdir()
    (out / "result.json").write_text('{"keep": true}')
    code, lines, _ = _cli(capsys, "train", *argv, "--out-dir", out)
    _one_line_error(code, lines, "already holds a run; pass --resume", "--overwrite")
    assert (out / "result.json").read_text() == '{"keep": true}'


@pytest.mark.data
def test_the_runner_resumes_an_interrupted_textbook_run(tmp_path):
    from modern.recipes import get_recipe
    from modern.train import train
    from reports.run.plan import RunItem, experiments
    from reports.run.engines import _textbook

    ex = next(e for e in experiments() if e.id == "textbook/exercise-relu")
    item = RunItem(ex, 0, {"epochs": 2, "batch_size": 64}, 512, 200)
    recipe = get_recipe("exercise-relu").with_overrides(epochs=2, batch_size=64)
    kw = dict(device="cpu", train_subset=512, test_subset=200)
    straight = train(recipe, out_dir=tmp_path / "straight", log=lambda s: None, **kw)

    def stop_after_epoch_1(line):
        if line.startswith("epoch 1/2"):
            raise KeyboardInterrupt

    d = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(recipe, out_dir=d, log=stop_after_epoch_1, **kw)
    rec = _textbook(item, d, "cpu", None, 0)
    assert _untimed(rec["metrics"]) == _untimed(straight["metrics"])
    assert "resuming after epoch 1/2" in (d / "train.log").read_text()


def test_the_interrupt_message_promises_resume_for_every_trainer(capsys):
    from lenet_repro.cli_util import EXIT_INTERRUPTED, run_cli
    from modern.train import build_parser

    def body():
        raise KeyboardInterrupt

    assert run_cli(body, prog="lenet train") == EXIT_INTERRUPTED
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and "--resume" in line and "epochs" in line
    assert build_parser().parse_args(["classic", "--resume"]).resume  # the promise can be kept


# ---------------------------------------------------------------------------------------------------------
# 5. one lenet process per output folder
# ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def held_by_another_process(tmp_path):
    """Start a real second process that takes the lock of a folder and holds it; yield (folder, pid)."""
    folders = []

    def hold(folder: Path, flag: str = "--out-dir"):
        code = ("import sys, time\nfrom lenet_repro.lock import dir_lock\n"
                f"with dir_lock(sys.argv[1], {flag!r}):\n    print('locked', flush=True)\n    time.sleep(120)\n")
        p = subprocess.Popen([sys.executable, "-c", code, str(folder)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "locked"
        folders.append(p)
        return p.pid

    yield hold
    for p in folders:
        p.kill()
        p.wait(timeout=30)


@pytest.mark.parametrize("command, flag", [
    (["train", "classic"], "--out-dir"),
    (["train", "lenet5-1998", "--passes", "1"], "--out-dir"),
    (["report", "--profile", "smoke", "--only", "textbook/classic"], "--out"),
])
def test_a_second_process_on_a_locked_folder_refuses(capsys, tmp_path, held_by_another_process, command, flag):
    d = tmp_path / "busy"
    pid = held_by_another_process(d, flag)
    code, lines, _ = _cli(capsys, *command, flag, d)
    _one_line_error(code, lines, f"{d} is in use by another lenet process (pid {pid})",
                    f"wait for it to finish or choose another {flag}")
    assert [p.name for p in d.iterdir()] == [".lenet.lock"]  # nothing of ours was written there


def test_the_lock_in_the_library_functions(tmp_path, held_by_another_process):
    from lenet1998.config import LeNet5Config
    from lenet1998.train import RunSpec, train_runs
    from modern.recipes import get_recipe
    from modern.train import train

    d = tmp_path / "busy"
    held_by_another_process(d)
    with pytest.raises(BusyError, match="in use by another lenet process"):
        train(get_recipe("classic"), out_dir=d)
    free = tmp_path / "free"
    with pytest.raises(BusyError, match="in use by another lenet process"):  # a lockstep group: any member busy
        train_runs([RunSpec("lenet5-1998", LeNet5Config(), 0, free), RunSpec("lenet5-1998", LeNet5Config(), 1, d)])
    assert not free.exists()  # its lock was released, and the folder it made removed


def test_the_lock_is_released_and_cleans_up(tmp_path):
    from lenet_repro.lock import LOCK_NAME, dir_lock

    d = tmp_path / "a" / "b"
    with dir_lock(d):
        assert (d / LOCK_NAME).read_text().strip() == str(os.getpid())
        with pytest.raises(BusyError, match=r"\(pid %d\)" % os.getpid()):  # a second holder, even in-process
            with dir_lock(d):
                pass
    assert not (tmp_path / "a").exists()  # made by the lock, still empty: removed
    d.mkdir(parents=True)
    (d / "keep").write_text("x")
    with dir_lock(d):
        pass
    assert [p.name for p in d.iterdir()] == ["keep"]


def test_a_lock_of_a_process_that_died_does_not_block(tmp_path):
    d = tmp_path / "d"
    code = "import sys, os\nfrom lenet_repro.lock import dir_lock\nwith dir_lock(sys.argv[1]):\n    os._exit(0)\n"
    subprocess.run([sys.executable, "-c", code, str(d)], cwd=ROOT, check=True, timeout=120)
    assert (d / ".lenet.lock").exists()  # left behind by the hard exit, but the kernel dropped the lock
    from lenet_repro.lock import dir_lock

    with dir_lock(d):
        pass


# ---------------------------------------------------------------------------------------------------------
# 6. the report's overall progress line
# ---------------------------------------------------------------------------------------------------------

def test_progress_line_counts_runs_and_estimates_per_family():
    from reports.run.runner import Progress

    now = [1000.0]
    lines = []
    p = Progress({"modern": 2, "lenet1998": 8}, log=lines.append, clock=lambda: now[0])
    now[0] += 60
    p.finished("modern")  # 60 s per textbook run; the faithful ones are unknown: the overall mean stands in
    assert lines[-1] == "progress: 1/10 runs finished, 60 s elapsed, about 9.0 min left"
    now[0] += 60
    p.finished("modern")
    assert lines[-1] == "progress: 2/10 runs finished, 2.0 min elapsed, about 8.0 min left"
    now[0] += 1200
    p.finished("lenet1998", 4)  # a lockstep group of 4 in 20 min: 5 min per faithful run
    assert lines[-1] == "progress: 6/10 runs finished, 22.0 min elapsed, about 20.0 min left"
    now[0] += 1200
    p.finished("lenet1998", 4)
    assert lines[-1] == "progress: 10/10 runs finished, 42.0 min elapsed, done"


def test_progress_with_a_prediction_rescales_it_by_the_finished_units():
    from reports.run.runner import Progress

    now = [0.0]
    lines = []
    p = Progress({"modern": 1, "lenet1998": 2}, log=lines.append, clock=lambda: now[0],
                 predicted={"a": 100.0, "b": 300.0}, units=["a", "b"])
    p.begin()
    assert lines[-1] == "progress: 0/3 runs finished, about 6.7 min left (predicted from recorded runs of the same kind)"
    now[0] += 200.0  # unit a (predicted 100 s, a quarter of the total) took twice as long
    p.finished("modern", 1, "a")
    assert lines[-1] == "progress: 1/3 runs finished, 3.3 min elapsed, about 10.0 min left"  # 300 s x 2
    # a unit missing from the prediction: the per-family estimate instead
    q = Progress({"modern": 1}, log=lambda s: None, clock=lambda: 0.0, predicted={}, units=["x"])
    assert q.estimate_left() is None


def test_progress_before_anything_finished_and_long_durations():
    from reports.run.runner import Progress, _duration

    p = Progress({"modern": 1}, log=lambda s: None, clock=lambda: 0.0)
    assert p.estimate_left() is None
    assert _duration(7300) == "2 h 01 min" and _duration(30) == "30 s"


def test_run_plan_prints_progress_after_each_run_and_group(tmp_path, monkeypatch, capsys):
    import lenet1998.data
    import lenet1998.train
    import reports.run.engines as engines
    import reports.run.runner as runner
    from reports.run.plan import build_plan

    def fake_modern(item, d, device, data_root, threads):
        return {"final": {"test_acc": 0.5}}

    def fake_train_runs(specs, **kw):
        return [{"final": {}} for _ in specs]

    monkeypatch.setattr(engines, "_textbook", fake_modern)
    monkeypatch.setattr(lenet1998.train, "train_runs", fake_train_runs)
    monkeypatch.setattr(lenet1998.data, "load_mnist", lambda *a, **k: None)
    plan = build_plan("smoke", only="textbook/classic,textbook/djl,faithful/lenet5-1998*")
    lines = []
    runner.run_plan(plan, tmp_path / "out", log=lines.append)
    progress = [ln for ln in lines if ln.startswith("progress: ")]
    assert [ln.split(",")[0] for ln in progress] == ["progress: 0/4 runs finished", "progress: 1/4 runs finished",
                                                    "progress: 2/4 runs finished", "progress: 4/4 runs finished"]
    # the first line predicts from the committed full report's records of the same kind (reports/full)
    assert "left (predicted from recorded runs of the same kind)" in progress[0]
    assert progress[-1].endswith("elapsed, done") and "left" in progress[1]


# ---------------------------------------------------------------------------------------------------------
# one meaning of --device auto
# ---------------------------------------------------------------------------------------------------------

def test_device_auto_is_one_rule(monkeypatch):
    from lenet1998.train import build_parser as parser_1998
    from lenet1998.train import engine_device
    from lenet_repro.device import AUTO_HELP, resolve_device
    from modern.train import build_parser as parser_modern

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("auto", cpu_only_engine=True) == torch.device("cpu")
    assert engine_device("auto", "fast") == torch.device("cpu")
    assert engine_device("auto", "reference") == torch.device("cuda")
    with pytest.raises(ConfigError, match="cannot run the fast C kernel"):
        engine_device("cuda", "fast")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu") == engine_device("auto", "reference")
    for parser in (parser_1998(), parser_modern()):  # (argparse wraps lines, at hyphens too)
        assert "".join(AUTO_HELP.split()) in "".join(parser.format_help().split())


def test_the_dead_flag_help_table_is_gone():
    import lenet1998.train

    assert not hasattr(lenet1998.train, "_FLAG_HELP")
