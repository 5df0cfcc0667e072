"""The output layer: Euclidean radial basis function units (Sec. II-B, Eq. 7).

y_i = sum_j (x_j - w_ij)^2. The parameter vectors are the fixed +1/-1 bitmaps of
`lenet1998.bitmaps` ("at least initially"); `trainable=True` makes them parameters.
The "linear" ablation output (`LinearOutput`) is an F6 -> 10 affine map for softmax.
"""

from __future__ import annotations

import torch
from torch import nn

from .bitmaps import prototypes


class EuclideanRBF(nn.Module):
    def __init__(self, trainable: bool = False):
        super().__init__()
        self.trainable = trainable
        if trainable:
            self.centers = nn.Parameter(prototypes())  # (10, 84)
        else:
            self.register_buffer("centers", prototypes())

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 84) -> (B, 10) penalties
        return ((x.unsqueeze(1) - self.centers.unsqueeze(0)) ** 2).sum(-1)


class LinearOutput(nn.Linear):
    """Ablation: logits = W x + b (softmax cross-entropy in the loss)."""

    def __init__(self):
        super().__init__(84, 10)
