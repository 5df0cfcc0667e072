"""Reader and writer for the IDX files of MNIST and Fashion-MNIST (LeCun's format).

Header: two zero bytes, a type byte (0x08 = uint8), a byte with the number of dimensions,
then one big-endian uint32 per dimension. Images use magic 2051 (0x00000803, 3 dims),
labels magic 2049 (0x00000801, 1 dim).
"""

from __future__ import annotations

import errno
import os
import struct
from pathlib import Path

import numpy as np

from . import atomic
from .errors import DataError, path_error

MAGIC_IMAGES = 2051
MAGIC_LABELS = 2049
_NDIM = {MAGIC_IMAGES: 3, MAGIC_LABELS: 1}


HINT = "delete it and run `lenet data fetch` again"


def parse_idx(data: bytes, name: str = "<bytes>", expect_magic: int | None = None, hint: str = HINT) -> np.ndarray:
    """Parse IDX bytes into a uint8 array, raising DataError on anything malformed."""
    if len(data) < 8:
        raise DataError(f"{name}: truncated IDX file ({len(data)} bytes, no complete header); {hint}")
    (magic,) = struct.unpack(">I", data[:4])
    if expect_magic is not None and magic != expect_magic:
        raise DataError(f"{name}: wrong magic number {magic} (expected {expect_magic}); {hint}")
    if magic not in _NDIM:
        raise DataError(f"{name}: wrong magic number {magic} (expected 2051 or 2049); {hint}")
    ndim = _NDIM[magic]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{name}: truncated IDX header; {hint}")
    dims = struct.unpack(">" + "I" * ndim, data[4:header])
    expected = int(np.prod(dims)) + header
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise DataError(f"{name}: {what}: {len(data)} bytes, expected {expected} for shape {dims}; {hint}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def read_idx(path: str | os.PathLike, expect_magic: int | None = None, hint: str = HINT) -> np.ndarray:
    path = Path(path)
    try:
        if not path.exists():
            raise DataError(f"{path}: missing; run `lenet data fetch` to download or convert it")
        data = path.read_bytes()
    except OSError as e:  # a folder under the file's name, no read permission, an I/O error
        raise path_error(path, e, writing=False, flag="--data-root", cls=DataError,
                         fix=hint if e.errno == errno.EISDIR else None) from None
    return parse_idx(data, str(path), expect_magic, hint)


def encode_idx(array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"IDX writer takes uint8 arrays, got {array.dtype}")
    if array.ndim == 3:
        magic = MAGIC_IMAGES
    elif array.ndim == 1:
        magic = MAGIC_LABELS
    else:
        raise ValueError(f"IDX writer takes 3-d images or 1-d labels, got shape {array.shape}")
    return struct.pack(">I" + "I" * array.ndim, magic, *array.shape) + array.tobytes()


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write atomically: the final name is only ever a complete file."""
    atomic.write_bytes(path, encode_idx(array))
