"""The book's recipes and exercise variants, as data (never as branches in code).

Each recipe names the edition and framework it comes from (`source`): d2l-en 0.7-0.17 / d2l-zh 2.0
(the classic network), d2l-en 1.0 (2nd edition), the d2l-zh 1st edition (gluonbook), D2L-Java, and
the exercises of the section "Convolutional Neural Networks (LeNet)". The book's printed numbers for
each are rows of lenet_repro/data/references.csv, keyed by the same recipe name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from lenet_repro.errors import ConfigError


@dataclass(frozen=True)
class NetSpec:
    """The textbook network: two conv blocks, then FC 120-84-10."""

    channels: tuple[int, int] = (6, 16)  # conv1, conv2 output maps
    conv1_padding: int = 2  # 28x28 input padded to 32x32-equivalent
    conv1_bias: bool = True  # D2L-Java builds conv1 without a bias
    activation: str = "sigmoid"  # sigmoid | relu (exercise)
    pool: str = "avg"  # avg | max (exercise, zh 1st edition)
    pool_kernel: int = 2
    pool_stride: int = 2
    pool_padding: int = 0  # D2L-Java: 5x5 windows, stride 2, pad 2
    fc: tuple[int, int] = (120, 84)
    num_classes: int = 10


@dataclass(frozen=True)
class Recipe:
    name: str
    title: str
    source: str  # edition / framework the recipe comes from
    net: NetSpec = field(default_factory=NetSpec)
    dataset: str = "fashion-mnist"
    lr: float = 0.9
    batch_size: int = 256
    epochs: int = 10
    init: str = "xavier_uniform"  # weights; biases keep torch's default, as d2l's PyTorch code
    note: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["net"] = asdict(self.net)
        return d

    def with_overrides(self, **kw) -> "Recipe":
        return replace(self, **{k: v for k, v in kw.items() if v is not None})


CLASSIC = Recipe(
    name="classic",
    title="classic d2l LeNet (sigmoid, avg-pool, lr 0.9, batch 256, 10 epochs)",
    source="d2l-en 0.7-0.17 / d2l-zh 2.0, all frameworks",
)

RECIPES: dict[str, Recipe] = {r.name: r for r in [
    CLASSIC,
    Recipe(
        name="d2l-2nd",
        title="2nd edition (d2l-en 1.0): same network, lr 0.1, batch 128",
        source="d2l-en 1.0.x (current site)",
        lr=0.1, batch_size=128,
        note="the book prints no line; its plots read about 0.72-0.74 validation accuracy at epoch 10",
    ),
    Recipe(
        name="zh-1st",
        title="zh 1st edition (gluonbook/d2lzh): no padding, max-pool, 5 epochs",
        source="d2l-zh 1st edition (gluonbook / d2lzh, MXNet)",
        net=NetSpec(conv1_padding=0, pool="max"),
        epochs=5,
    ),
    Recipe(
        name="djl",
        title="D2L-Java: 5x5 avg-pool windows (stride 2, pad 2), no conv1 bias",
        source="D2L-Java (DJL, MXNet engine)",
        net=NetSpec(conv1_bias=False, pool_kernel=5, pool_padding=2),
        note="pooling counts padded zeros (count_include_pad), the MXNet/DJL default",
    ),
    # The book's exercises, each one change from the classic recipe.
    Recipe(
        name="exercise-maxpool",
        title="exercise: classic with max pooling",
        source="d2l exercise 1 (replace average with max pooling)",
        net=NetSpec(pool="max"),
    ),
    Recipe(
        name="exercise-relu",
        title="exercise: classic with ReLU (lr 0.1)",
        source="d2l exercise 2 (build a better LeNet: activation)",
        net=NetSpec(activation="relu"),
        lr=0.1,
        note="lr 0.9 with ReLU diverges on some seeds; the exercise lets the learning rate change too",
    ),
    Recipe(
        name="exercise-channels",
        title="exercise: classic with more channels (16, 32)",
        source="d2l exercise 2 (build a better LeNet: number of channels)",
        net=NetSpec(channels=(16, 32)),
    ),
    Recipe(
        name="exercise-mnist",
        title="exercise: classic recipe on MNIST",
        source="d2l exercise 3 (try the original MNIST)",
        dataset="mnist",
    ),
]}


def get_recipe(name: str) -> Recipe:
    """The textbook recipe `name` (ConfigError, one line, for any other name: the full list of what
    `lenet train` takes, 1998 recipes and Fig. 9 rows included, is the dispatcher's, reports/cli.py)."""
    try:
        return RECIPES[name]
    except KeyError:
        raise ConfigError(f"unknown recipe {name!r}; the textbook recipes are {', '.join(RECIPES)} "
                          f"(`lenet train --help` lists every recipe, lenet5-1998 and the Fig. 9 rows too)") from None
