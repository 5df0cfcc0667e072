"""Device selection and seeding, shared by both model packages.

`--device auto` means one thing everywhere: the CUDA GPU if one is present and the job's engine can
use it, else the CPU. The only CPU-only engine is the 1998 trainer's fast C kernel (batch-1 online
training, where it beats a GPU), so `lenet train lenet5-1998` with `--device auto` trains on the CPU
whenever that kernel is used, and on the GPU (if any) with `--backend reference` or without a C
compiler; the textbook trainer has no CPU-only engine, so auto is the GPU when there is one.
"""

from __future__ import annotations

import random

import torch

from .errors import ConfigError, DeviceError

DEVICE_CHOICES = ("auto", "cpu", "cuda")
AUTO_HELP = ("auto = the CUDA GPU if present, else the CPU; except that the 1998 trainer's fast C kernel "
             "is CPU-only, so lenet5-1998 runs with it train on the CPU")
SEED_LIMIT = 2**63  # seeds are 0 .. 2**63 - 1: torch.manual_seed wraps negatives (-1 == 2**64 - 1)


def resolve_device(spec: str = "auto", cpu_only_engine: bool = False) -> torch.device:
    """The device for `--device spec` (see the module docstring for `auto`).

    `cpu_only_engine`: the job runs on an engine that exists only on the CPU (the 1998 fast C
    kernel); then auto is the CPU, and an explicit cuda is refused. `cuda` / `cuda:N` must exist.
    """
    spec = (spec or "auto").lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() and not cpu_only_engine else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {spec} was requested but no CUDA GPU is available here "
                              f"(torch.cuda.is_available() is False); use --device cpu or --device auto")
        if cpu_only_engine:
            raise ConfigError(f"--device {spec} cannot run the fast C kernel (it is CPU-only); use --device cpu "
                              f"or auto, or --backend reference to train on the GPU")
        dev = torch.device(spec)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s) present; "
                              f"use cuda:0..cuda:{torch.cuda.device_count() - 1}")
        return dev
    raise DeviceError(f"unknown device {spec!r}; use auto, cpu, cuda or cuda:N")


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_model()


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def check_seed(seed) -> int:
    """A run's seed must be an integer 0 <= seed < 2**63 (both trainers); ConfigError otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
        raise ConfigError(f"--seed must be an integer from 0 to {SEED_LIMIT - 1} (2**63 - 1), got {seed!r}; "
                          f"choose a seed in that range")
    return seed


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, torch (CPU and CUDA); return a fresh CPU generator for data order."""
    check_seed(seed)
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % (2**32))
    except ImportError:
        pass
    g = torch.Generator()
    g.manual_seed(seed)
    return g
