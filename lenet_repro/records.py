"""Run records (`result.json`) and checkpoints: the contract between training, reports and
`lenet check`. See DESIGN.md, "The run record".

A record is written atomically; a reader rejects anything that is not a lenet-repro record of a
known schema version with a one-line RecordError.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from . import atomic
from .errors import RecordError

SCHEMA = "lenet-repro/run-record/1"
CHECKPOINT_FORMAT = "lenet-repro/checkpoint/1"
RESULT_NAME = "result.json"
REQUIRED = ("schema", "run_id", "recipe", "family", "dataset", "config", "seed", "metrics", "final",
            "provenance")
FAMILIES = ("modern", "lenet1998")


def config_hash(config: dict) -> str:
    """Short stable hash of a resolved config (keys sorted), used in run ids and caches."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:10]


def write_record(out_dir: str | os.PathLike, record: dict) -> Path:
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise RecordError(f"run record lacks fields {missing}; this is a bug in the trainer")
    path = Path(out_dir) / RESULT_NAME
    atomic.write_json(path, record)
    return path


def read_record(path: str | os.PathLike) -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / RESULT_NAME
    if not path.exists():
        raise RecordError(f"{path}: no such run record; pass a result.json written by `lenet train`")
    try:
        rec = json.loads(path.read_text())
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
    if rec["family"] not in FAMILIES or not isinstance(rec["final"], dict):
        raise RecordError(f"{path}: malformed run record (family {rec['family']!r}); re-run the training")
    rec["_path"] = str(path)
    return rec


def save_checkpoint(path: str | os.PathLike, *, family: str, recipe: str, model_config: dict,
                    state_dict: dict, **meta) -> Path:
    """A self-describing checkpoint: loadable with `torch.load(..., weights_only=True)`."""
    blob = {"format": CHECKPOINT_FORMAT, "family": family, "recipe": recipe,
            "model_config": model_config,
            "state_dict": {k: v.detach().cpu().clone() for k, v in state_dict.items()}, **meta}
    atomic.torch_save(path, blob)
    return Path(path)


def load_checkpoint(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.exists():
        raise RecordError(f"{path}: no such checkpoint; pass a checkpoint.pt written by `lenet train`")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle/zip errors come in many types
        raise RecordError(f"{path}: not a loadable checkpoint ({type(e).__name__}); "
                          f"the file is damaged or foreign, re-run the training") from None
    if not isinstance(blob, dict) or blob.get("format") != CHECKPOINT_FORMAT:
        raise RecordError(f"{path}: not a lenet-repro checkpoint of format {CHECKPOINT_FORMAT!r}; "
                          f"re-run the training with this version")
    return blob
