"""Compile a kernel source (`lenet5.c`, the default, or `layered.c`) into a shared library, once per
source/compiler/flags/target, into a user cache.

`python -m lenet1998.fast` builds it ahead of time (the Makefile's install step does, and fails
if it cannot); otherwise the first use does. If no C compiler works, training falls back to the
reference path with a one-line notice. `LENET_NO_FAST=1` forces that fallback.

Numerics are the same on every machine of a kind (issue 8): the kernel is built for a fixed,
portable target (`x86-64-v3` on x86-64, whatever the build machine supports beyond it), with
floating-point contraction off (no fused multiply-add the source does not write), no fast-math,
every reduction written in a fixed order in the source, and its own exp/log (no libm, whose
CPU-dispatched variants may round differently). So a library built for another target computes
bit-identical results; `tests/test_determinism.py` builds it for two targets and compares.
`LENET_KERNEL_TARGET=x86-64-v4` (for example) builds for another target.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from lenet_repro.errors import ConfigError, PathError

from ..warp_numerics import WARP_NUMERICS

SOURCE = Path(__file__).with_name("lenet5.c")  # LeNet-5's kernel: the default of every function below
LAYERED_SOURCE = Path(__file__).with_name("layered.c")  # the layered comparison networks (Fig. 9)
# The flags that decide the numbers: value-safe optimisation only, no contraction, no fast-math.
# -fno-trapping-math / -fno-math-errno let GCC vectorise the clamps; they change no result.
NUMERIC_FLAGS = ["-O3", "-std=gnu11", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno",
                 "-fno-trapping-math"]
LINK_FLAGS = ["-fPIC", "-shared", "-pthread"]
# The portable default target per architecture (every machine of this kind has AVX2 + FMA).
DEFAULT_TARGETS = {"x86_64": "x86-64-v3", "aarch64": "armv8-a"}
# CPU flags (from /proc/cpuinfo) a target needs; a machine without them gets the next lower one.
TARGET_CPU_FLAGS = {
    "x86-64-v4": {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
    "x86-64-v3": {"avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "abm"},
    "x86-64-v2": {"sse4_2", "popcnt", "ssse3"},
}
TARGET_ENV = "LENET_KERNEL_TARGET"


class BuildError(RuntimeError):
    pass


def cache_dir() -> Path:
    env = os.environ.get("LENET_CACHE_DIR")
    base = env or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lenet-repro")
    if os.path.exists(base) and not os.path.isdir(base):
        raise PathError(f"{'LENET_CACHE_DIR' if env else 'the cache folder'} {base} is a file, not a folder; "
                        f"point LENET_CACHE_DIR at a writable folder")
    return Path(base) / "fast"


def compiler() -> str | None:
    cc = os.environ.get("CC") or "cc"
    return shutil.which(cc) or shutil.which("gcc") or shutil.which("clang")


@lru_cache(maxsize=None)
def compiler_version(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
        return out.splitlines()[0].strip() if out else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            line = next((ln for ln in f if ln.startswith("flags")), "")
    except OSError:
        line = ""
    return set(line.split(":", 1)[-1].split())


def cpu_supports(target: str) -> bool:
    """Whether this CPU runs code built for `target` (unknown targets: assume yes)."""
    need = TARGET_CPU_FLAGS.get(target)
    if need is None:
        return True
    flags = cpu_flags()
    order = list(TARGET_CPU_FLAGS)  # v4 needs v3 needs v2
    return all(TARGET_CPU_FLAGS[t] <= flags for t in order[order.index(target):])


def target() -> str:
    """The -march target: $LENET_KERNEL_TARGET, else the architecture's portable default."""
    env = os.environ.get(TARGET_ENV)
    if env:
        if not env.replace("-", "").replace(".", "").replace("_", "").isalnum():
            raise ConfigError(f"{TARGET_ENV}={env!r} is not a -march target name; use e.g. x86-64-v3")
        return env
    t = DEFAULT_TARGETS.get(platform.machine(), "")
    if t in TARGET_CPU_FLAGS and not cpu_supports(t):
        t = next((lower for lower in list(TARGET_CPU_FLAGS)[list(TARGET_CPU_FLAGS).index(t):]
                  if cpu_supports(lower)), "x86-64")
    return t


def cflags(tgt: str | None = None) -> list[str]:
    tgt = target() if tgt is None else tgt
    return [*NUMERIC_FLAGS, *([f"-march={tgt}"] if tgt else []), *LINK_FLAGS]


def kernel_numerics(source: Path = SOURCE) -> int:
    """A kernel's numerics version, <STEM>_NUMERICS (LENET5_NUMERICS, LAYERED_NUMERICS), read from the
    source, so no build is needed."""
    macro = f"{source.stem.upper()}_NUMERICS"
    m = re.search(rf"^#define {macro} (\d+)", source.read_text(), re.M)
    if not m:
        raise BuildError(f"{source} defines no {macro} version")
    return int(m.group(1))


def numeric_build_id() -> str:
    """Identifies the arithmetic of a faithful run: the kernel's numerics version, the distortion
    warp's (lenet1998/warp_numerics.py) and the numeric compiler flags -- not the target, not the
    compiler, not other source edits (a new option leaves old numbers alone): the cross-target test
    shows those change no bit, and the golden-bits test catches an arithmetic change made without a
    version bump. Recorded in every run record; the report flags records of another build."""
    return f"k{kernel_numerics()}w{WARP_NUMERICS}-{_numeric_flags_id()}"


def layered_numeric_build_id() -> str:
    """The same for the layered kernel (layered.c, which has no warp): its LAYERED_NUMERICS version and
    the numeric compiler flags."""
    return f"l{kernel_numerics(LAYERED_SOURCE)}-{_numeric_flags_id()}"


def _numeric_flags_id() -> str:
    return hashlib.sha256(" ".join(NUMERIC_FLAGS).encode()).hexdigest()[:6]


def record_numeric_build(record: dict) -> str:
    """The numeric build a lenet1998 run record was made by: the kernel's id, "reference" for the
    torch reference path, "unrecorded" for records older than this field. One rule, used by the report."""
    prov = record.get("provenance") or {}
    if prov.get("backend") == "reference":
        return "reference"
    return ((prov.get("kernel") or {}).get("numeric_build")) or "unrecorded"


def library_path(tgt: str | None = None, source: Path = SOURCE) -> Path:
    """lib<stem>-<key>.so in the cache, the key hashing the source, the compiler and every flag."""
    cc = compiler() or "none"
    flags = cflags(tgt)
    key = hashlib.sha256(source.read_bytes() + " ".join([cc, compiler_version(cc), *flags]).encode()).hexdigest()[:16]
    return cache_dir() / f"lib{source.stem}-{key}.so"


def build_info(tgt: str | None = None, source: Path = SOURCE) -> dict:
    """What built the kernel: for run provenance."""
    tgt = target() if tgt is None else tgt
    cc = compiler()
    nb = layered_numeric_build_id() if source == LAYERED_SOURCE else numeric_build_id()
    return {"numeric_build": nb, "target": tgt, "cflags": " ".join(cflags(tgt)),
            "compiler": compiler_version(cc) if cc else None,
            "source_sha256": hashlib.sha256(source.read_bytes()).hexdigest()[:16]}


def build(force: bool = False, tgt: str | None = None, source: Path = SOURCE) -> Path:
    """Return the path of the compiled library of `source`, compiling it if needed (atomic rename)."""
    tgt = target() if tgt is None else tgt
    out = library_path(tgt, source)
    if out.exists() and not force:
        return out
    cc = compiler()
    if cc is None:
        raise BuildError("no C compiler found (install gcc, or set CC)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=out.parent)
    except OSError as e:
        raise PathError(f"cannot write the kernel into {out.parent} ({e.strerror}); "
                        f"point LENET_CACHE_DIR at a writable folder") from None
    os.close(fd)
    try:
        proc = subprocess.run([cc, *cflags(tgt), str(source), "-o", tmp], capture_output=True, text=True,
                              timeout=300)
        if proc.returncode != 0:
            msg = (proc.stderr or proc.stdout).strip().splitlines()
            raise BuildError(f"{cc} failed: {msg[0] if msg else proc.returncode}")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m lenet1998.fast [--force] [--optional]`: build both kernels (LeNet-5's and the layered
    comparison networks'); exit 1 if one cannot be built (CI must not pass without them), unless
    --optional (then LeNet-5 uses the reference path and the Fig. 9 networks cannot train)."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        path = build(force="--force" in argv)
        layered = build(force="--force" in argv, source=LAYERED_SOURCE)
    except (BuildError, ConfigError, PathError) as e:
        optional = "--optional" in argv
        print(f"lenet1998 fast path: not built ({e})"
              + ("; training will use the slower reference path" if optional else
                 "; install gcc (or set CC), or build with --optional to accept the slower reference path"),
              file=sys.stderr)
        return 0 if optional else 1
    info = build_info()
    print(f"lenet1998 fast path: {path} (target {info['target']}, numeric build {info['numeric_build']})")
    print(f"lenet1998 layered kernel: {layered} (numeric build {layered_numeric_build_id()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
