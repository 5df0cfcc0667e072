"""Run records (`result.json`) and checkpoints: the contract between training, reports and
`lenet check`. The fields are REQUIRED below; the trainers (lenet1998/train.py, modern/train.py) write them.

A record is written atomically; a reader rejects anything that is not a lenet-repro record of a
known schema version with a one-line RecordError.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import torch

from . import atomic
from .errors import RecordError, path_error

SCHEMA = "lenet-repro/run-record/1"
CHECKPOINT_FORMAT = "lenet-repro/checkpoint/1"
RESULT_NAME = "result.json"
REQUIRED = ("schema", "run_id", "recipe", "family", "dataset", "config", "seed", "metrics", "final",
            "provenance")
FAMILIES = ("modern", "lenet1998", "comparison")


def config_hash(config: dict) -> str:
    """Short stable hash of a resolved config (keys sorted), used in run ids and caches."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:10]


def write_record(out_dir: str | os.PathLike, record: dict) -> Path:
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise RecordError(f"run record lacks fields {missing}; this is a bug in the trainer")
    path = Path(out_dir) / RESULT_NAME
    atomic.write_json(path, record, flag="--out-dir")
    kept = Path(out_dir) / REPLACED
    if kept.is_dir():  # the run an --overwrite replaced: the new one is whole now
        for p in kept.iterdir():
            atomic.remove(p)
        kept.rmdir()
    return path


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _type_name(v) -> str:
    return "null" if v is None else {bool: "a boolean", str: "a string", list: "a list", dict: "an object"}.get(
        type(v), type(v).__name__)


STRING_FINALS = ("evaluated_on",)  # the only non-numeric entries of "final"
COUNT_FINALS = ("test_misses", "test_n", "train_misses", "train_n")  # non-negative integers


def validate_record(rec: dict, where: str = "run record") -> None:
    """Type-check a run record strictly; RecordError naming the first bad field.

    Top-level ids are strings, `config`/`final`/`provenance` objects, `seed` an integer, `metrics` a
    list of objects whose values are numbers, every `final` value a number (NaN allowed: a diverged
    run records it) except `evaluated_on`, and the counts in `final` non-negative integers.
    """
    def bad(field, value, expected):
        raise RecordError(f"{where}: malformed run record: {field} is {_type_name(value)}, expected {expected}; "
                          f"the file is damaged or was edited, re-run the training (or restore the file)")

    for k in ("schema", "run_id", "recipe", "dataset", "family"):
        if not isinstance(rec[k], str):
            bad(k, rec[k], "a string")
    if rec["family"] not in FAMILIES:
        raise RecordError(f"{where}: malformed run record: family {rec['family']!r} is not one of "
                          f"{', '.join(FAMILIES)}; re-run the training")
    for k in ("config", "final", "provenance"):
        if not isinstance(rec[k], dict):
            bad(k, rec[k], "an object")
    if isinstance(rec["seed"], bool) or not isinstance(rec["seed"], int):
        bad("seed", rec["seed"], "an integer")
    if not isinstance(rec["metrics"], list):
        bad("metrics", rec["metrics"], "a list")
    for i, row in enumerate(rec["metrics"]):
        if not isinstance(row, dict):
            bad(f"metrics[{i}]", row, "an object")
        for k, v in row.items():
            if not _is_number(v):
                bad(f"metrics[{i}][{k!r}]", v, "a number")
    for k, v in rec["final"].items():
        if k in STRING_FINALS:
            if not isinstance(v, str):
                bad(f"final[{k!r}]", v, "a string")
        elif k in COUNT_FINALS:
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                bad(f"final[{k!r}]", v, "a non-negative integer")
        elif k == "fit":  # a staged fit's sizes and residuals: names -> a number or a list of numbers
            if not isinstance(v, dict) or not all(_is_number(x) or (isinstance(x, list) and all(map(_is_number, x)))
                                                  for x in v.values()):
                bad(f"final[{k!r}]", v, "an object of numbers and lists of numbers")
        elif not _is_number(v):
            bad(f"final[{k!r}]", v, "a number")
    for k in ("test_misses_idx", "test_predictions_missed"):
        if k in rec and not (isinstance(rec[k], list) and all(isinstance(i, int) and not isinstance(i, bool)
                                                              for i in rec[k])):
            bad(k, rec[k], "a list of integers")
    for k in ("sdlm", "shipped"):
        if k in rec and not isinstance(rec[k], dict):
            bad(k, rec[k], "an object")
    check_counts(rec, where)
    if "parts" in rec:  # a run's components (the boosted LeNet-4's nets), each checked as a record of its own
        if not isinstance(rec["parts"], list) or not rec["parts"]:
            bad("parts", rec["parts"], "a non-empty list")
        for i, part in enumerate(rec["parts"]):
            if not isinstance(part, dict) or not isinstance(part.get("name"), str) or "parts" in part:
                bad(f"parts[{i}]", part, "an object with a name (and no parts of its own)")
            if not all(k in part for k in ("metrics", "final")):
                raise RecordError(f"{where}: malformed run record: parts[{i}] lacks metrics or final; the file is "
                                  f"damaged or was edited, re-run the training (or restore the file)")
            per_class = part.get("train_per_class")  # optional: the patterns per class the part trained on
            if per_class is not None and not (isinstance(per_class, list) and all(
                    isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in per_class)):
                bad(f"parts[{i}]['train_per_class']", per_class, "a list of non-negative integers")
            body = {k: v for k, v in part.items() if k not in ("name", "train_per_class")}
            validate_record({**{k: rec[k] for k in ("schema", "run_id", "recipe", "dataset", "family", "seed")},
                             "config": {}, "provenance": {}, **body}, f"{where} (parts[{i}], {part['name']})")


ERROR_TOLERANCE = 1e-6  # points of %: a recorded error may differ from 100 * misses / n by float rounding only


def check_counts(rec: dict, where: str = "run record") -> None:
    """The record's numbers agree with each other; RecordError naming the first that does not.

    For the test set and the training set alike: n > 0, 0 <= misses <= n, error % = 100 * misses / n and
    accuracy = 1 - misses / n (to rounding), and the list of missed test digits has `test_misses` distinct
    indices below `test_n`. A record that fails was edited or damaged: its verdict would rest on numbers
    that contradict each other.
    """
    final = rec.get("final") or {}

    def bad(what):
        raise RecordError(f"{where}: inconsistent run record: {what}; the file was edited or is damaged, "
                          f"re-run the training (or restore the file)")

    for part in ("test", "train"):
        k, n = final.get(f"{part}_misses"), final.get(f"{part}_n")
        if n is None:
            continue
        if n <= 0:
            bad(f"{part}_n is {n}, expected a positive count of digits")
        if k is None:
            continue
        if k > n:
            bad(f"{part}_misses {k} exceeds {part}_n {n}")
        err, acc = final.get(f"{part}_error"), final.get(f"{part}_acc")
        if err is not None and not abs(err - 100 * k / n) <= ERROR_TOLERANCE:
            bad(f"{part}_error {err!r} % is not 100 x {part}_misses / {part}_n = {100 * k / n:.6g} %")
        if acc is not None and not abs(acc - (1 - k / n)) <= ERROR_TOLERANCE / 100:
            bad(f"{part}_acc {acc!r} is not 1 - {part}_misses / {part}_n = {1 - k / n:.6g}")
    idx = rec.get("test_misses_idx")
    if idx is not None and final.get("test_misses") is not None:
        if len(idx) != final["test_misses"] or len(set(idx)) != len(idx):
            bad(f"test_misses_idx holds {len(idx)} indices ({len(set(idx))} distinct) for test_misses "
                f"{final['test_misses']}")
        n = final.get("test_n")
        if idx and n is not None and not (0 <= min(idx) and max(idx) < n):
            bad(f"test_misses_idx has an index outside 0 .. test_n - 1 = {n - 1}")
        pred = rec.get("test_predictions_missed")
        if pred is not None and len(pred) != len(idx):
            bad(f"test_predictions_missed holds {len(pred)} labels for {len(idx)} missed digits")


def read_record(path: str | os.PathLike) -> dict:
    path = Path(path)
    try:
        if path.is_dir():
            path = path / RESULT_NAME
        if not path.exists():
            raise RecordError(f"{path}: no such run record; pass a result.json written by `lenet train`")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RecordError(f"{path}: not a text file (it is not UTF-8); "
                          "pass a result.json written by `lenet train`") from None
    except OSError as e:  # a folder named result.json, no permission, an I/O error
        raise path_error(path, e, writing=False, cls=RecordError,
                         fix="pass a readable result.json written by `lenet train`") from None
    try:
        rec = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise RecordError(f"{path}: not valid JSON ({e}); pass a result.json written by `lenet train`") from None
    if not isinstance(rec, dict) or "schema" not in rec:
        raise RecordError(f"{path}: not a lenet-repro run record (no 'schema' field); "
                          f"pass a result.json written by `lenet train`")
    if rec["schema"] != SCHEMA:
        raise RecordError(f"{path}: unknown record schema {rec['schema']!r} (this version reads {SCHEMA!r}); "
                          f"re-run the training with this version")
    missing = [k for k in REQUIRED if k not in rec]
    if missing:
        raise RecordError(f"{path}: run record lacks fields {missing}; the file is damaged, re-run the training")
    validate_record(rec, str(path))
    rec["_path"] = str(path)
    return rec


def save_checkpoint(path: str | os.PathLike, *, family: str, recipe: str, model_config: dict,
                    state_dict: dict, **meta) -> Path:
    """A self-describing checkpoint: loadable with `torch.load(..., weights_only=True)`."""
    blob = {"format": CHECKPOINT_FORMAT, "family": family, "recipe": recipe,
            "model_config": model_config,
            "state_dict": {k: v.detach().cpu().clone() for k, v in state_dict.items()}, **meta}
    atomic.torch_save(path, blob, flag="--out-dir")
    return Path(path)


def load_checkpoint(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.exists():
        raise RecordError(f"{path}: no such checkpoint; pass a checkpoint.pt written by `lenet train`")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as e:  # a folder named checkpoint.pt, no permission, an I/O error
        raise path_error(path, e, writing=False, cls=RecordError,
                         fix="pass a readable checkpoint.pt written by `lenet train`") from None
    except Exception as e:  # pickle/zip errors come in many types
        raise RecordError(f"{path}: not a loadable checkpoint ({type(e).__name__}); "
                          f"the file is damaged or foreign, re-run the training") from None
    if not isinstance(blob, dict) or blob.get("format") != CHECKPOINT_FORMAT:
        raise RecordError(f"{path}: not a lenet-repro checkpoint of format {CHECKPOINT_FORMAT!r}; "
                          f"re-run the training with this version")
    return blob


def checkpoint_fields(blob: dict, path: str | os.PathLike, fields: dict[str, type | tuple]) -> None:
    """RecordError unless `blob` has each of `fields` with the given type (bool never counts as int)."""
    for name, typ in fields.items():
        v = blob.get(name)
        types = typ if isinstance(typ, tuple) else (typ,)
        if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
            raise RecordError(f"{path}: malformed checkpoint: {name!r} is "
                              f"{'missing' if name not in blob else _type_name(v)}; the file is damaged, "
                              f"re-run the training (or --overwrite to start over)")


def load_weights(module: torch.nn.Module, state_dict, path: str | os.PathLike) -> None:
    """`module.load_state_dict(state_dict)` with a one-line RecordError when the weights do not fit
    the module built from the checkpoint's config (a missing, extra or mis-shaped tensor)."""
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise RecordError(f"{path}: malformed checkpoint: its 'state_dict' is not a mapping of tensors; "
                          f"the file is damaged, re-run the training")
    want = module.state_dict()
    missing = [k for k in want if k not in state_dict]
    extra = [k for k in state_dict if k not in want]
    shapes = [f"{k} {tuple(state_dict[k].shape)} (its config needs {tuple(v.shape)})" for k, v in want.items()
              if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)]
    if missing or extra or shapes:
        parts = ([f"missing {missing[:4]}{' ...' if len(missing) > 4 else ''}"] if missing else []) + \
                ([f"unexpected {extra[:4]}{' ...' if len(extra) > 4 else ''}"] if extra else []) + \
                ([f"wrong shape: {'; '.join(shapes[:2])}{' ...' if len(shapes) > 2 else ''}"] if shapes else [])
        raise RecordError(f"{path}: the weights do not fit the checkpoint's own config ({', '.join(parts)}); "
                          f"the file is damaged or was edited, re-run the training or use another checkpoint")
    module.load_state_dict(state_dict)


# Per-pass fields that say how a run was timed or grouped, not what it computed.
TIMING_FIELDS = ("seconds", "examples_per_s", "lockstep")


def numbers_of(record: dict) -> dict:
    """Every number a run computed: the record without its provenance, wall times and lockstep group
    size. Two runs of the same seed and numeric build compare equal on this, wherever they ran."""
    rec = {k: v for k, v in record.items() if k not in ("provenance", "_path", "run_id")}
    rec["metrics"] = [{k: v for k, v in row.items() if k not in TIMING_FIELDS} for row in rec["metrics"]]
    rec["final"] = {k: v for k, v in rec["final"].items() if k not in TIMING_FIELDS}
    return rec


REPLACED = ".replaced"  # inside an --out-dir: the run an unfinished --overwrite is replacing


def claim_out_dir(out_dir, checkpoint: Path, resume: bool, overwrite: bool) -> bool:
    """The one rule for a trainer's --out-dir: without --resume an existing run is an error; --overwrite
    moves the old run's record and checkpoint into <out-dir>/.replaced/ (a rename: no space needed) where
    they stay until the new run's record is written (`write_record` then removes them) or, if training
    fails, are moved back (`replacing`); so the good run is never lost to a full disk or an interruption,
    and no stale record sits beside a new checkpoint. Returns whether there is a checkpoint to resume from."""
    from .errors import ConfigError

    out_dir = Path(out_dir)
    result, kept = out_dir / RESULT_NAME, out_dir / REPLACED
    if overwrite:
        if kept.is_dir():  # an --overwrite that never finished: .replaced holds the whole run, beside it the partial one
            atomic.remove(result)
            atomic.remove(checkpoint)
            return False
        present = [p for p in (result, checkpoint) if p.exists()]
        if present:
            try:
                kept.mkdir()
                for p in present:
                    os.replace(p, kept / p.name)
            except OSError as e:
                raise path_error(kept, e, writing=True, flag="--out-dir") from None
        return False
    if not resume and (checkpoint.exists() or result.exists()):
        raise ConfigError(f"{out_dir} already holds a run; pass --resume to continue (or reuse) it, "
                          f"--overwrite to start over, or choose another --out-dir")
    return checkpoint.exists()


def _restore_replaced(out_dir: Path) -> None:
    kept = Path(out_dir) / REPLACED
    if not kept.is_dir():
        return
    for p in kept.iterdir():
        os.replace(p, Path(out_dir) / p.name)
    kept.rmdir()


@contextlib.contextmanager
def replacing(dirs):
    """`with records.replacing(dirs):` around a training under --overwrite: if it raises (a full disk, an
    interrupt), the old runs moved aside by `claim_out_dir` are put back, over the unfinished new files."""
    try:
        yield
    except BaseException:
        for d in dirs:
            with contextlib.suppress(OSError):  # else left in .replaced/: the next --overwrite keeps it
                _restore_replaced(Path(d))
        raise
