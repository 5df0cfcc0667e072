"""One lenet process per output folder: an exclusive, non-blocking `fcntl.flock` on `<dir>/.lenet.lock`.

Both trainers hold it on every `--out-dir` for the whole run, and `lenet report` on its `--out`, so
that two processes never write the same run (before, both exited 0 and one result was silently
lost). A second process refuses at once with one line:

    <dir> is in use by another lenet process (pid N); wait for it to finish or choose another --out-dir

The kernel drops the lock when the holder exits, however it exits (a crash or `kill -9` included),
so a stale lock file never blocks anyone. The file holds the holder's pid, for the message only; it
is the one file not written atomically (a rename would replace the locked inode), and it is removed
when the lock is released. Because of that removal, the acquirer checks after locking that the path
still names the file it locked, and retries otherwise. Folders that the lock had to create and that
are still empty at release are removed too, so a run that failed early leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator

from .atomic import make_dirs
from .errors import BusyError, path_error

LOCK_NAME = ".lenet.lock"


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        pid = os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:
        pid = ""
    return pid if pid.isdigit() else "unknown"


@contextlib.contextmanager
def dir_lock(directory: str | os.PathLike, flag: str = "--out-dir") -> Iterator[Path]:
    """Hold the lock of `directory` (created if needed) for the `with` block; BusyError if taken."""
    d = Path(directory)
    created = make_dirs(d, flag)
    path = d / LOCK_NAME
    fd = -1
    try:
        for _ in range(100):  # another process may remove the file between our open and flock
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                raise path_error(path, e, flag=flag) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = _holder(fd)
                os.close(fd)
                fd = -1
                raise BusyError(f"{d} is in use by another lenet process (pid {pid}); wait for it to finish "
                                f"or choose another {flag}") from None
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
            fd = -1
        else:  # pragma: no cover - would need 100 lost races in a row
            raise BusyError(f"{d}: could not take its lock; wait for other lenet processes to finish or "
                            f"choose another {flag}")
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as e:
            raise path_error(path, e, flag=flag) from None
        yield d
    finally:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.unlink(path)
            os.close(fd)
        for folder in reversed(created):  # innermost first; only if still empty
            try:
                folder.rmdir()
            except OSError:
                break


@contextlib.contextmanager
def dir_locks(directories, flag: str = "--out-dir") -> Iterator[None]:
    """Hold the locks of several folders (in the given order; all released on exit)."""
    with contextlib.ExitStack() as stack:
        for d in directories:
            stack.enter_context(dir_lock(d, flag))
        yield
