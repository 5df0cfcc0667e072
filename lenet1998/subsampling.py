"""Subsampling layers S2 and S4 (Sec. II-B).

"Each unit in S2 has 4 inputs ... The four inputs to a unit in S2 are added, then multiplied by a
trainable coefficient, and added to a trainable bias. The result is passed through a sigmoidal
function." Sec. II-A says "local averaging" instead, so `mode="average"` multiplies the mean.
The pooling modes of the textbook ablation (`avgpool`, `maxpool`) have no parameters and are not
squashed; the caller applies the squashing only when `squashed` is True.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lenet_repro.errors import ConfigError

MODES = ("sum", "average", "avgpool", "maxpool")


class Subsampling(nn.Module):
    def __init__(self, maps: int, mode: str = "sum"):
        super().__init__()
        if mode not in MODES:
            raise ConfigError(f"unknown subsampling {mode!r}; use {', '.join(MODES)}")
        self.maps, self.mode = maps, mode
        if self.has_params:
            self.coef = nn.Parameter(torch.ones(maps))  # one trainable coefficient per map
            self.bias = nn.Parameter(torch.zeros(maps))  # one trainable bias per map

    @property
    def has_params(self) -> bool:
        return self.mode in ("sum", "average")

    @property
    def squashed(self) -> bool:
        return self.has_params

    def window(self, x: torch.Tensor) -> torch.Tensor:
        """The 2x2 window statistic: sum (Sec. II-B), mean (Sec. II-A / avgpool) or max."""
        if self.mode == "maxpool":
            return F.max_pool2d(x, 2)
        s = F.avg_pool2d(x, 2)
        return s * 4 if self.mode == "sum" else s

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, 2H, 2W) -> (B, C, H, W) pre-activation
        s = self.window(x)
        if not self.has_params:
            return s
        return self.coef.view(1, -1, 1, 1) * s + self.bias.view(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return f"maps={self.maps}, mode={self.mode}"
