"""torch.hub (issue 20): hubconf.py at the repository root returns the shipped checkpoint's network,
and `input_transform` (beside `pretrained()`) is the input it expects."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lenet_repro.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.data
def test_torch_hub_load_classifies_as_the_shipped_record_says():
    """The first 100 MNIST test digits: the hub model misses exactly the ones the shipped record lists."""
    from lenet_repro.datasets import load

    model = torch.hub.load(str(ROOT), "lenet5", source="local")
    transform = torch.hub.load(str(ROOT), "input_transform", source="local")
    assert isinstance(model, torch.nn.Module) and not model.training
    images, labels = load("mnist", "test")
    with torch.no_grad():
        pred = model.predict(transform(images[:100]))
    record = json.loads((ROOT / "lenet1998" / "checkpoints" / "lenet5.json").read_text())
    expected = sorted(i for i in record["test_misses_idx"] if i < 100)
    assert sorted((pred != labels[:100]).nonzero().flatten().tolist()) == expected
    accuracy = 1 - len(expected) / 100
    assert float((pred == labels[:100]).double().mean()) == pytest.approx(accuracy)


def test_hub_entries_and_their_refusals():
    import hubconf

    assert hubconf.dependencies == ["torch"]
    from lenet1998 import input_transform, pretrained

    shipped = pretrained("lenet5")
    model = hubconf.lenet5()
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), shipped.state_dict().values()))
    assert hubconf.lenet5(distortions=True).config.distortions
    assert hubconf.input_transform() is input_transform
    fresh = hubconf.lenet5(pretrained=False, c3_table="dense")
    assert fresh.config.c3_table == "dense" and fresh.training
    with pytest.raises(ConfigError, match="need pretrained=False"):
        hubconf.lenet5(c3_table="dense")
    with pytest.raises(ConfigError, match="unknown LeNet-5 options"):
        hubconf.lenet5(pretrained=False, bogus=1)
    with pytest.raises(ConfigError, match="true or false"):
        hubconf.lenet5(pretrained="yes")


def test_input_transform_is_the_papers_preprocessing():
    """Sec. III-A: 28x28 padded by 2 background pixels to 32x32; Sec. II-B: background -0.1, ink 1.175."""
    from lenet1998 import input_transform
    from lenet1998.preprocessing import to_input

    img = np.zeros((28, 28), dtype=np.uint8)
    img[10, 12] = 255
    x = input_transform(img)  # one digit, numpy uint8
    assert x.shape == (1, 1, 32, 32) and x.dtype == torch.float32
    assert float(x[0, 0, 12, 14]) == pytest.approx(1.175) and float(x[0, 0, 0, 0]) == pytest.approx(-0.1)
    assert int((x > 0).sum()) == 1
    batch = torch.randint(0, 256, (5, 28, 28), dtype=torch.uint8)
    torch.testing.assert_close(input_transform(batch), to_input(batch))
    torch.testing.assert_close(input_transform(batch.unsqueeze(1)), to_input(batch))      # (N, 1, 28, 28)
    torch.testing.assert_close(input_transform(batch.float() / 255), to_input(batch))     # floats in [0, 1]
    for bad, why in [(torch.zeros(5, 32, 32), "28x28"), (torch.full((28, 28), 2.0), r"\[0, 1\]"),
                     (torch.full((28, 28), float("nan")), r"\[0, 1\]"), (torch.zeros(28, 28, dtype=torch.int64), "uint8"),
                     ("digit", "tensor or a numpy array")]:
        with pytest.raises(ConfigError, match=why):
            input_transform(bad)
    with pytest.raises(ConfigError, match="unknown input scaling"):
        input_transform(batch, scaling="nope")
