"""The output layer: Euclidean radial basis function units (Sec. II-B, Eq. 7).

y_i = sum_j (x_j - w_ij)^2. The parameter vectors are the fixed +1/-1 bitmaps of
`lenet1998.bitmaps` ("at least initially"); `trainable=True` makes them parameters.
The "linear" ablation output (`LinearOutput`) is an F6 -> 10 affine map for softmax.
"""

from __future__ import annotations

import torch
from torch import nn

from .bitmaps import prototypes


def rbf_centers(cfg) -> torch.Tensor:
    """The (10, f6_units) prototypes a LeNet5Config asks for (its rbf_codes; lenet1998/bitmaps.py)."""
    random = cfg.rbf_codes == "random"
    return prototypes(cfg.rbf_codes, cfg.rbf_min_distance if random else None, cfg.rbf_code_seed)


class EuclideanRBF(nn.Module):
    def __init__(self, trainable: bool = False, centers: torch.Tensor | None = None):
        super().__init__()
        self.trainable = trainable
        centers = prototypes() if centers is None else centers  # (10, 84): our Fig. 3 bitmaps
        if trainable:
            self.centers = nn.Parameter(centers)
        else:
            self.register_buffer("centers", centers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, n6) -> (B, 10) penalties
        return ((x.unsqueeze(1) - self.centers.unsqueeze(0)) ** 2).sum(-1)


class LinearOutput(nn.Linear):
    """Ablation: logits = W x + b (softmax cross-entropy in the loss)."""

    def __init__(self, units: int = 84):
        super().__init__(units, 10)
