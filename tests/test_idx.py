"""IDX reader/writer: round trip and the one-line errors for corrupt files."""

import numpy as np
import pytest

from lenet_repro.errors import DataError
from lenet_repro.idx import MAGIC_IMAGES, MAGIC_LABELS, encode_idx, parse_idx, read_idx, write_idx


def test_round_trip_images_and_labels(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 7).astype(np.uint8)
    write_idx(tmp_path / "i", images)
    write_idx(tmp_path / "l", labels)
    assert np.array_equal(read_idx(tmp_path / "i", MAGIC_IMAGES), images)
    assert np.array_equal(read_idx(tmp_path / "l", MAGIC_LABELS), labels)
    # the header is the standard one: magic, then big-endian dimensions
    assert (tmp_path / "i").read_bytes()[:16] == bytes.fromhex("00000803 00000007 0000001c 0000001c".replace(" ", ""))


def test_no_temp_files_left_behind(tmp_path):
    write_idx(tmp_path / "x", np.zeros(3, np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b[:-10], "truncated"),
    (lambda b: b + b"\0", "trailing bytes"),
    (lambda b: b[:5], "truncated"),
    (lambda b: (2052).to_bytes(4, "big") + b[4:], "wrong magic number 2052"),
])
def test_corrupt_files_give_one_line_errors(tmp_path, mutate, message):
    blob = encode_idx(np.zeros((3, 28, 28), np.uint8))
    p = tmp_path / "train-images-idx3-ubyte"
    p.write_bytes(mutate(blob))
    with pytest.raises(DataError) as e:
        read_idx(p, MAGIC_IMAGES)
    text = str(e.value)
    assert message in text and str(p) in text and "lenet data fetch" in text and "\n" not in text


def test_labels_where_images_expected():
    with pytest.raises(DataError, match="wrong magic number 2049"):
        parse_idx(encode_idx(np.zeros(4, np.uint8)), "f", MAGIC_IMAGES)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="missing"):
        read_idx(tmp_path / "nope")


def test_writer_rejects_wrong_dtype(tmp_path):
    with pytest.raises(ValueError, match="IDX writer takes uint8 arrays, got float32"):
        write_idx(tmp_path / "x", np.zeros((2, 28, 28), np.float32))
