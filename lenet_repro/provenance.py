"""Provenance of a run: versions, commit, machine, device, times. Goes into every run record."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

from . import __version__
from .device import cpu_model

REPO_ROOT = Path(__file__).resolve().parent.parent


# What the report writes into the tree (its rendered files and run records): not code, so a report that
# re-renders between two of its runs does not make the next run's record "dirty"
GENERATED = ("reports/smoke", "reports/quick", "reports/full", "README.md")


def git_commit(repo: Path = REPO_ROOT) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the source tree, or (None, None) outside a git checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
        if commit is None:
            return None, None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                 *(f":(exclude){p}" for p in GENERATED)], cwd=repo,
                                capture_output=True, text=True, timeout=10).stdout
        return commit, bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


# The commit of the code this process imported: a long report must not record a commit that a
# developer made while it ran.
_COMMIT_AT_IMPORT = git_commit()


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def collect(device: torch.device | str = "cpu") -> dict:
    import torchvision

    device = torch.device(device)
    commit, dirty = _COMMIT_AT_IMPORT
    prov = {
        "package": "lenet-repro",
        "package_version": __version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "platform": platform.platform(),
        "host_cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        # the ISA torch dispatches its CPU kernels to (ATEN_CPU_CAPABILITY forces one)
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model(),
        "argv": sys.argv,
    }
    if device.type == "cuda":
        prov["cuda"] = torch.version.cuda
    return prov
