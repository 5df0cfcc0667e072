"""Atomic file writes: write to a temporary file beside the target, then rename.

A crash or Ctrl-C never leaves a half-written file under the final name, and a failed
download never replaces a good file. The file gets the mode a plain `open(path, "w")` would give it
(the one it had, or 0666 less the umask), not the 0600 of a temporary file. An OSError on the way (a full disk, a read-only folder, a
file where a folder should be) becomes a one-line PathError naming the target and the fix; the
temporary file is removed and the previous file, if any, stays as it was.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import stat
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from .errors import PathError, path_error


def make_dirs(path: str | os.PathLike, flag: str | None = None) -> list[Path]:
    """`mkdir -p path`; return the folders it created (outermost first). OSError -> PathError."""
    path = Path(path)
    missing = []
    p = path
    try:
        while not p.exists():
            missing.append(p)
            if p.parent == p:
                break
            p = p.parent
        if not p.is_dir():  # an existing file where a folder is needed
            raise NotADirectoryError(20, "Not a directory", str(p))
        for d in reversed(missing):
            d.mkdir(exist_ok=True)
    except OSError as e:
        raise path_error(path, e, flag=flag) from None
    return list(reversed(missing))


def ensure_dir(path: str | os.PathLike, flag: str | None = None) -> Path:
    """Create the folder `path` (and its parents) if needed; a one-line PathError if it cannot be."""
    make_dirs(path, flag)
    return Path(path)


_UMASK_LOCK = threading.Lock()


def _mode_for(path: Path) -> int:
    """The permission bits `open(path, "w")` would leave: the existing file's, else 0666 less the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        with _UMASK_LOCK:  # the umask can only be read by setting it
            mask = os.umask(0o022)
            os.umask(mask)
        return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, flag: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it over `path` on success.

    An OSError about the temporary file (or without a file name: ENOSPC on write) becomes a
    PathError naming `path`; errors about other files pass through unchanged.
    """
    path = Path(path)
    ensure_dir(path.parent, flag)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            os.fchmod(fd, _mode_for(path))
        finally:
            os.close(fd)
    except OSError as e:
        raise path_error(path, e, flag=flag) from None
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        ours = (None, str(tmp), str(path))
        if e.filename not in ours and e.filename2 not in ours[1:] and e.errno != errno.ENOSPC:
            raise
        raise path_error(path, e, flag=flag) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_bytes(path: str | os.PathLike, data: bytes, flag: str | None = None) -> None:
    with atomic_path(path, flag) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def write_text(path: str | os.PathLike, text: str, flag: str | None = None) -> None:
    write_bytes(path, text.encode("utf-8"), flag)


def write_json(path: str | os.PathLike, obj, flag: str | None = None) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n", flag)


def torch_save(path: str | os.PathLike, obj, flag: str | None = None) -> None:
    """`torch.save` through a temporary file (the checkpoint is complete or absent)."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    write_bytes(path, buf.getvalue(), flag)


def remove(path: str | os.PathLike, flag: str | None = None) -> None:
    """Delete a file if it exists (OSError -> PathError)."""
    try:
        Path(path).unlink(missing_ok=True)
    except OSError as e:
        raise path_error(path, e, flag=flag) from None


__all__ = ["PathError", "atomic_path", "ensure_dir", "make_dirs", "remove", "torch_save", "write_bytes",
           "write_json", "write_text"]
