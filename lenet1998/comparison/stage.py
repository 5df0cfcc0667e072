"""The finished pieces of a long classical fit (the SVM rows' ten binary classifiers, each reduced set),
kept in the run's checkpoint.pt so that an interrupted fit resumes where it stopped.

A piece is a dict of tensors under a key ("ovr3", "rs3", ...). `put` rewrites the checkpoint atomically
(lenet_repro/records.save_checkpoint: a temp file, then a rename) after every piece, so a kill at any
moment leaves either the previous pieces or the new ones, never half of one. The checkpoint names the
run's config and seed; one made by another config or seed is refused (ConfigError), as a network's.
Every piece is computed deterministically from the data and the pieces before it, so a resumed fit
ends at the record an uninterrupted one writes (tests/test_svm_rows.py). Each piece keeps the seconds its
computation took (`piece_seconds` in the checkpoint), so that a resumed fit's record counts the time the
earlier, interrupted processes spent on the pieces it resumes (`seconds_before`).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from lenet_repro import records
from lenet_repro.errors import ConfigError, RecordError


class Stage:
    def __init__(self, path: Path | None, config: dict, seed: int, resume: bool):
        self.path, self.config, self.seed = path, config, seed
        self.pieces: dict[str, dict[str, torch.Tensor]] = {}
        self.seconds: dict[str, float] = {}  # piece -> the seconds its computation took
        if path is not None and resume and Path(path).exists():
            blob = records.load_checkpoint(path)
            if blob.get("family") != "comparison" or blob.get("model_config") != config or blob.get("seed") != seed:
                raise ConfigError(f"{path} was made by another row, config or seed; use another --out-dir, or "
                                  f"--overwrite to start over there")
            sd = blob.get("state_dict")
            if not isinstance(sd, dict) or not all(isinstance(k, str) and "." in k for k in sd):
                raise RecordError(f"{path}: malformed checkpoint (not a staged fit); re-run with --overwrite")
            for k, v in sd.items():
                piece, field = k.split(".", 1)
                self.pieces.setdefault(piece, {})[field] = v
            secs = blob.get("piece_seconds")
            if not isinstance(secs, dict) or set(secs) != set(self.pieces) or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in secs.values()):
                raise RecordError(f"{path}: malformed checkpoint (its pieces' seconds do not match its pieces); "
                                  f"re-run with --overwrite")
            self.seconds = {k: float(v) for k, v in secs.items()}
        self.seconds_before = sum(self.seconds.values())  # spent by earlier processes on the pieces resumed

    @property
    def done(self) -> list[str]:
        return list(self.pieces)

    def get(self, key: str) -> dict | None:
        return self.pieces.get(key)

    def put(self, key: str, state: dict[str, torch.Tensor], seconds: float = 0.0) -> None:
        self.pieces[key] = {k: v.detach().cpu().clone() for k, v in state.items()}
        self.seconds[key] = float(seconds)
        if self.path is not None:
            flat = {f"{p}.{f}": v for p, s in self.pieces.items() for f, v in s.items()}
            records.save_checkpoint(self.path, family="comparison", recipe=self.config["row"],
                                    model_config=self.config, state_dict=flat, seed=self.seed, pieces=self.done,
                                    piece_seconds=dict(self.seconds))


def piece(stage: "Stage | None", key: str, compute) -> dict[str, torch.Tensor]:
    """The piece `key`: the stage's finished one, or `compute()` (a dict of tensors), then kept in the stage.
    Without a stage (a fit called directly), just `compute()`."""
    done = stage.get(key) if stage is not None else None
    if done is None:
        t = time.perf_counter()
        done = compute()
        if stage is not None:
            stage.put(key, done, time.perf_counter() - t)
    return done
