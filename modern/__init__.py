"""The textbook LeNet of "Dive into Deep Learning" (d2l), its recipes and exercises.

Sigmoid, average pooling, dense layers and softmax on Fashion-MNIST: the simplified network of
d2l-en 0.7-0.17 / d2l-zh 2.0 (section "Convolutional Neural Networks (LeNet)"), plus the 2nd
edition, the zh 1st edition, the D2L-Java variant and the book's exercises, as data in
`modern.recipes`.
"""

from .model import TextbookLeNet, shape_table
from .recipes import RECIPES, NetSpec, Recipe, get_recipe

__all__ = ["RECIPES", "NetSpec", "Recipe", "TextbookLeNet", "get_recipe", "shape_table"]
