"""C3: a 5x5 convolution whose maps read only the S2 maps of Table I (Sec. II-B).

The trainable weights are exactly the 60 kernels of the table (plus 16 biases = 1,516 parameters).
The forward scatters them into a dense (16, 6, 5, 5) kernel that is zero where the table has no
connection, then convolves: a readable specification, tested against explicit per-map sums.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .connection_table import connections


class TableConv2d(nn.Module):
    def __init__(self, in_maps: int = 6, out_maps: int = 16, kernel: int = 5, table: str = "paper"):
        super().__init__()
        pairs = connections(table)
        self.in_maps, self.out_maps, self.kernel, self.table = in_maps, out_maps, kernel, table
        self.weight = nn.Parameter(torch.zeros(len(pairs), kernel, kernel))  # (n_kernels, 5, 5)
        self.bias = nn.Parameter(torch.zeros(out_maps))
        self.register_buffer("conn_out", torch.tensor([o for o, _ in pairs]), persistent=False)
        self.register_buffer("conn_in", torch.tensor([i for _, i in pairs]), persistent=False)

    def dense_weight(self, weight: torch.Tensor | None = None) -> torch.Tensor:
        """(out, in, k, k) kernel, zero for unconnected pairs."""
        w = self.weight if weight is None else weight
        dense = w.new_zeros(self.out_maps, self.in_maps, self.kernel, self.kernel)
        return dense.index_put((self.conn_out, self.conn_in), w)

    def fan_in(self) -> torch.Tensor:
        """Real fan-in of each C3 map: 25 x (number of S2 maps it reads)."""
        return torch.bincount(self.conn_out, minlength=self.out_maps) * self.kernel ** 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 6, 14, 14) -> (B, 16, 10, 10)
        return F.conv2d(x, self.dense_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"table={self.table}, kernels={self.weight.shape[0]}"
