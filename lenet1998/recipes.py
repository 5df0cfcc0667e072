"""Named 1998 recipes for `lenet train` (anything else is a textbook recipe in `modern`)."""

from __future__ import annotations

from .config import FAITHFUL, LeNet5Config

LENET1998_RECIPES: dict[str, LeNet5Config] = {
    "lenet5-1998": FAITHFUL,  # Sec. II-B + App. A/C: 0.95 % in the paper
    "lenet5-1998-distortions": FAITHFUL.replace(distortions=True),  # Sec. III-C: 0.8 %
}


def is_lenet1998_recipe(name: str) -> bool:
    return name in LENET1998_RECIPES
