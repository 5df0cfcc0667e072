"""The textbook LeNet (d2l): shapes, parameter count, recipes as data, CLI errors."""

import pytest
import torch

from modern import RECIPES, TextbookLeNet, get_recipe, shape_table
from modern.model import CLASSIC_PARAMETERS
from lenet_repro.errors import ConfigError


def test_the_books_shape_table():
    rows = shape_table(TextbookLeNet(get_recipe("classic").net))
    assert [s for _, s in rows] == [
        (1, 6, 28, 28), (1, 6, 28, 28), (1, 6, 14, 14),
        (1, 16, 10, 10), (1, 16, 10, 10), (1, 16, 5, 5),
        (1, 400), (1, 120), (1, 120), (1, 84), (1, 84), (1, 10)]
    assert [n for n, _ in rows][:3] == ["Conv2d", "Sigmoid", "AvgPool2d"]


def test_classic_parameter_count():
    model = TextbookLeNet(get_recipe("classic").net)
    assert sum(p.numel() for p in model.parameters()) == CLASSIC_PARAMETERS == 61_706


@pytest.mark.parametrize("name", list(RECIPES))
def test_every_recipe_builds_and_classifies(name):
    r = get_recipe(name)
    model = TextbookLeNet(r.net)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_recipe_details_follow_the_book():
    classic, second, zh1, djl = (get_recipe(n) for n in ("classic", "d2l-2nd", "zh-1st", "djl"))
    assert (classic.lr, classic.batch_size, classic.epochs) == (0.9, 256, 10)
    assert (second.lr, second.batch_size, second.epochs) == (0.1, 128, 10)
    assert (zh1.net.conv1_padding, zh1.net.pool, zh1.epochs) == (0, "max", 5)
    assert shape_table(TextbookLeNet(zh1.net))[6][1] == (1, 256)  # 16 x 4 x 4 without padding
    assert (djl.net.pool_kernel, djl.net.pool_stride, djl.net.pool_padding, djl.net.conv1_bias) == (5, 2, 2, False)
    assert shape_table(TextbookLeNet(djl.net))[2][1] == (1, 6, 14, 14)
    assert get_recipe("exercise-mnist").dataset == "mnist"
    assert get_recipe("exercise-maxpool").net.pool == "max"
    assert get_recipe("exercise-relu").net.activation == "relu"


def test_unknown_recipe_is_a_one_line_error():
    with pytest.raises(ConfigError, match="unknown recipe 'lenet9'.*classic.*lenet5-1998"):
        get_recipe("lenet9")


def test_xavier_init_is_applied_and_seeded():
    from modern.model import init_weights
    a, b = TextbookLeNet(), TextbookLeNet()
    torch.manual_seed(0)
    init_weights(a, "xavier_uniform")
    torch.manual_seed(0)
    init_weights(b, "xavier_uniform")
    assert torch.equal(a[0].weight, b[0].weight)
    bound = (6 / (25 + 150)) ** 0.5
    assert float(a[0].weight.detach().abs().max()) <= bound
    with pytest.raises(ConfigError, match="unknown init 'he'; use xavier_uniform"):
        init_weights(a, "he")
