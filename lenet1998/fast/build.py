"""Compile `lenet5.c` into a shared library, once per source/compiler/CPU, into a user cache.

`python -m lenet1998.fast` builds it ahead of time (the Makefile's install step does);
otherwise the first use does. If no C compiler works, training falls back to the reference path
with a one-line notice. `LENET_NO_FAST=1` forces that fallback.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("lenet5.c")
# -fno-trapping-math lets the compiler vectorise the clamps of the squashing function; it changes no result
CFLAGS = ["-O3", "-march=native", "-std=gnu11", "-fPIC", "-shared", "-pthread", "-fno-math-errno",
          "-fno-trapping-math"]


class BuildError(RuntimeError):
    pass


def cache_dir() -> Path:
    base = os.environ.get("LENET_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lenet-repro")
    return Path(base) / "fast"


def compiler() -> str | None:
    cc = os.environ.get("CC") or "cc"
    return shutil.which(cc) or shutil.which("gcc") or shutil.which("clang")


def _cpu_key() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((ln for ln in f if ln.startswith("flags")), "")
    except OSError:
        flags = ""
    return platform.machine() + flags


def library_path() -> Path:
    cc = compiler() or "none"
    key = hashlib.sha256(SOURCE.read_bytes() + " ".join([cc, *CFLAGS, _cpu_key()]).encode()).hexdigest()[:16]
    return cache_dir() / f"liblenet5-{key}.so"


def build(force: bool = False) -> Path:
    """Return the path of the compiled library, compiling it if needed (atomic rename)."""
    out = library_path()
    if out.exists() and not force:
        return out
    cc = compiler()
    if cc is None:
        raise BuildError("no C compiler found (install gcc, or set CC)")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=out.parent)
    os.close(fd)
    try:
        proc = subprocess.run([cc, *CFLAGS, str(SOURCE), "-o", tmp, "-lm"], capture_output=True, text=True,
                              timeout=300)
        if proc.returncode != 0:
            msg = (proc.stderr or proc.stdout).strip().splitlines()
            raise BuildError(f"{cc} failed: {msg[0] if msg else proc.returncode}")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def main() -> int:
    try:
        path = build(force="--force" in sys.argv)
    except BuildError as e:
        print(f"lenet1998 fast path: not built ({e}); training will use the slower reference path",
              file=sys.stderr)
        return 0  # not fatal: the reference path still works
    print(f"lenet1998 fast path: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
