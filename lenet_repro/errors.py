"""Exceptions raised by library code. Only CLI entry points turn them into exit codes.

Every message is one line that names the problem and the fix.
"""

from __future__ import annotations

import errno
import os


class LenetError(Exception):
    """Base class: `str(err)` is a single line for the user."""


class DataError(LenetError):
    """A dataset file is missing, truncated, corrupt or from no reachable source."""


class ConfigError(LenetError):
    """A bad option value, an unknown recipe or an inconsistent configuration."""


class DeviceError(LenetError):
    """The requested compute device is not present."""


class RecordError(LenetError):
    """A run record or checkpoint is malformed, foreign or of an unknown version."""


class PathError(LenetError):
    """A user path cannot be used: a file where a folder is needed (or the reverse), no permission,
    a read-only or a full file system. Made from the OSError by `path_error`."""


class BusyError(LenetError):
    """A folder is in use by another lenet process (see lenet_repro/lock.py)."""


def path_error(path: str | os.PathLike, err: OSError, *, writing: bool | None = True,
               flag: str | None = None, fix: str | None = None,
               cls: type[LenetError] = PathError) -> LenetError:
    """A one-line `cls` error for an OSError on a user path: what is wrong with `path`, and the fix.

    `flag` names the option the path came from (e.g. "--out-dir") so the fix can point at it;
    `fix` replaces the default fix; `writing` says whether the path was being written (True), read
    (False) or either (None).
    """
    path = os.fspath(path)
    where = flag or "folder"
    code = err.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        folder = path if os.path.isdir(path) else os.path.dirname(path) or "."
        problem = "no space left on the device (nothing was half-written)"
        default = f"free space on the file system of {folder} (or choose another {where}) and re-run the same command"
    elif code == errno.EROFS:
        problem = "is on a read-only file system"
        default = f"choose a writable {where}"
    elif code in (errno.EACCES, errno.EPERM):
        problem = "permission denied"
        default = {True: f"make it writable or choose a writable {where}",
                   False: f"make it readable (chmod) or point {where} elsewhere",
                   None: f"fix its permissions or choose another {where}"}[writing]
    elif code == errno.EISDIR:
        problem = "is a folder, not a file"
        default = f"remove or rename that folder, or choose another {where}"
    elif code in (errno.ENOTDIR, errno.EEXIST):
        problem = "is a file (or lies under a file), not a folder"
        default = f"move that file away or give {where} a folder path"
    elif code == errno.ENOENT:
        problem = "does not exist"
        default = f"check the path given to {where}"
    elif code == errno.ENAMETOOLONG:
        problem = "has a name that is too long"
        default = f"choose a shorter {where} path"
    else:
        problem = (err.strerror or type(err).__name__).rstrip(".")
        default = f"check the path, or choose another {where}"
    verb = {True: "write", False: "read", None: "use"}[writing]
    msg = f"{path}: cannot {verb}: {problem}; {fix or default}"
    return cls(" ".join(msg.split()))  # one line whatever the OS said
