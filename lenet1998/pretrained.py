"""Shipped checkpoints: `lenet1998.pretrained("lenet5")` and `("lenet5-distortions")`.

Each is a run of its kind from the committed full report (reports/full/runs/), chosen by
`python -m reports.ship` (the median seed by test misses since issue 10; the record's "shipped" field
says which seed and how it was chosen); its run record sits beside it (`checkpoints/<name>.json`) and the test suite re-evaluates it on the real MNIST
test set and asserts the recorded number of misses exactly.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from lenet_repro import records
from lenet_repro.errors import ConfigError, RecordError

from .config import LeNet5Config
from .model import LeNet5

SHIPPED = ("lenet5", "lenet5-distortions")


def shipped_path(name: str) -> Path:
    return Path(str(resources.files("lenet1998").joinpath(f"checkpoints/{name}.pt")))


def load(name_or_path: str) -> tuple[LeNet5, dict]:
    """(model in eval mode, checkpoint dict) from a shipped name, a checkpoint file or a run folder."""
    if name_or_path in SHIPPED:
        path = shipped_path(name_or_path)
        if not path.exists():
            raise RecordError(f"shipped checkpoint {name_or_path!r} is missing from this installation ({path}); "
                              f"reinstall lenet-repro")
    else:
        path = Path(name_or_path)
        if path.is_dir():
            path = path / "checkpoint.pt"
        if not path.exists():
            raise RecordError(f"{name_or_path}: no such checkpoint or shipped name; use a checkpoint.pt, a run "
                              f"folder, or one of {', '.join(SHIPPED)}")
    blob = records.load_checkpoint(path)
    if blob.get("family") != "lenet1998":
        raise RecordError(f"{path} is a {blob.get('family')!r} checkpoint, not a LeNet-5 (1998) one; `lenet evaluate` "
                          f"and pretrained() take LeNet-5 checkpoints (a textbook run's result.json holds its "
                          f"test accuracy)")
    records.checkpoint_fields(blob, path, {"model_config": dict, "state_dict": dict})
    try:
        cfg = LeNet5Config.from_dict(blob["model_config"])
    except ConfigError as e:
        raise RecordError(f"{path}: unreadable model config ({e}); the file is damaged or from another version, "
                          f"re-run the training") from None
    model = LeNet5(cfg)
    records.load_weights(model, blob["state_dict"], path)
    if name_or_path in SHIPPED:  # how it was chosen (seed, misses, from how many seeds): its record says
        import json

        try:
            blob["shipped"] = json.loads(path.with_suffix(".json").read_text()).get("shipped")
        except (OSError, ValueError):
            blob["shipped"] = None
    return model.eval(), blob


def pretrained(name: str = "lenet5") -> LeNet5:
    if name not in SHIPPED:
        raise ConfigError(f"unknown pretrained model {name!r}; choose one of {', '.join(SHIPPED)}")
    return load(name)[0]
