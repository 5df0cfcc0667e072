"""Deterministic sub-seeds: every random choice of a run derives from (seed, purpose, index), so a
resumed run or a lockstep member reproduces a solo run exactly."""

from __future__ import annotations

import hashlib

import torch


def derive_seed(seed: int, *keys) -> int:
    blob = "/".join(str(k) for k in (seed, *keys)).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "little") & ((1 << 63) - 1)


def generator(seed: int, *keys) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(seed, *keys))
