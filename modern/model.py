"""The textbook LeNet network (d2l, section "Convolutional Neural Networks (LeNet)").

    conv 6@5x5 pad 2, sigmoid, avg-pool 2/2      # (B, 6, 28, 28) -> (B, 6, 14, 14)
    conv 16@5x5, sigmoid, avg-pool 2/2           # (B, 16, 10, 10) -> (B, 16, 5, 5)
    flatten, FC 120, sigmoid, FC 84, sigmoid     # (B, 400) -> (B, 120) -> (B, 84)
    FC 10 (logits; softmax is in the loss)       # (B, 10)

61,706 parameters for the classic recipe.
"""

from __future__ import annotations

import torch
from torch import nn

from lenet_repro.errors import ConfigError

from .recipes import NetSpec

CLASSIC_PARAMETERS = 61_706


def _activation(name: str) -> nn.Module:
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "relu":
        return nn.ReLU()
    raise ConfigError(f"unknown activation {name!r}; use sigmoid or relu")


def _pool(spec: NetSpec) -> nn.Module:
    if spec.pool == "avg":
        # count_include_pad=True is torch's default and MXNet/DJL's for padded windows
        return nn.AvgPool2d(spec.pool_kernel, spec.pool_stride, spec.pool_padding)
    if spec.pool == "max":
        return nn.MaxPool2d(spec.pool_kernel, spec.pool_stride, spec.pool_padding)
    raise ConfigError(f"unknown pooling {spec.pool!r}; use avg or max")


def _out(n: int, k: int, s: int = 1, p: int = 0) -> int:
    return (n + 2 * p - k) // s + 1


class TextbookLeNet(nn.Sequential):
    def __init__(self, spec: NetSpec = NetSpec()):
        c1, c2 = spec.channels
        n = _out(28, 5, 1, spec.conv1_padding)  # conv1
        n = _out(n, spec.pool_kernel, spec.pool_stride, spec.pool_padding)  # pool1
        n = _out(n, 5)  # conv2
        n = _out(n, spec.pool_kernel, spec.pool_stride, spec.pool_padding)  # pool2
        if n < 1:
            raise ConfigError(f"network spec {spec} shrinks the 28x28 input to nothing")
        f1, f2 = spec.fc
        super().__init__(
            nn.Conv2d(1, c1, 5, padding=spec.conv1_padding, bias=spec.conv1_bias),  # (B, 6, 28, 28)
            _activation(spec.activation),
            _pool(spec),  # (B, 6, 14, 14)
            nn.Conv2d(c1, c2, 5),  # (B, 16, 10, 10)
            _activation(spec.activation),
            _pool(spec),  # (B, 16, 5, 5)
            nn.Flatten(),  # (B, 400)
            nn.Linear(c2 * n * n, f1),  # (B, 120)
            _activation(spec.activation),
            nn.Linear(f1, f2),  # (B, 84)
            _activation(spec.activation),
            nn.Linear(f2, spec.num_classes),  # (B, 10)
        )
        self.spec = spec


def init_weights(model: nn.Module, scheme: str, generator: torch.Generator | None = None) -> None:
    """d2l's `init_cnn`: Xavier-uniform on every conv and linear weight; biases keep torch's default."""
    if scheme != "xavier_uniform":
        raise ConfigError(f"unknown init {scheme!r}; use xavier_uniform")
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight, generator=generator)


def shape_table(model: nn.Module, input_size: int = 28) -> list[tuple[str, tuple[int, ...]]]:
    """The book's layer-by-layer output shapes for one (1, 1, 28, 28) input."""
    x = torch.zeros(1, 1, input_size, input_size)
    rows = []
    with torch.no_grad():
        for layer in model:
            x = layer(x)
            rows.append((type(layer).__name__, tuple(x.shape)))
    return rows
