"""A worked example for `lenet compare` (README, "Compare your model"): the LeNet most tutorials build today --
ReLU and max pooling in the textbook layout (6 and 16 maps, 120-84-10) -- as a factory that returns an
nn.Module taking MNIST's (N, 1, 28, 28) digits in [0, 1] and giving 10 logits.

    lenet compare --model examples/modern_lenet.py:build --name modern-lenet --recipe exercise-relu --seeds 3 \\
        --out reports/compare-example
"""

import torch.nn as nn


def build() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # (N, 6, 14, 14)
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),  # (N, 16, 5, 5)
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
