"""LeNet-5 as in Fig. 2 and Sec. II-B of the paper: the readable reference network.

    input 32x32                                  # (B, 1, 32, 32)
    C1  6@28x28 conv 5x5, squash                 # (B, 6, 28, 28)
    S2  6@14x14 subsampling 2x2, squash          # (B, 6, 14, 14)
    C3 16@10x10 conv 5x5 through Table I, squash # (B, 16, 10, 10)
    S4 16@5x5   subsampling 2x2, squash          # (B, 16, 5, 5)
    C5 120      conv 5x5 on all S4 maps, squash  # (B, 120, 1, 1)
    F6 84       full connection, squash          # (B, 84)
    output 10   Euclidean RBF on 7x12 bitmaps    # (B, 10) penalties

The paper's counts are asserted when the network is built as in the paper: per layer
156 / 12 / 1,516 / 32 / 48,120 / 10,164 trainable parameters (60,000 in all) and
122,304 / 5,880 / 151,600 / 2,000 / 48,120 / 10,164 / 840 connections (340,908 in all).
Parameter order is part of the contract with the fast path (lenet1998/fast/lenet5.c).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .config import LeNet5Config
from .connection_table import table
from .initialization import initialize
from .loss import predict
from .rbf import EuclideanRBF, LinearOutput, rbf_centers
from .squashing import Squash
from .subsampling import Subsampling
from .table_conv import TableConv2d

# (trainable parameters, connections) per layer, Sec. II-B
PAPER_COUNTS = {
    "C1": (156, 122_304),
    "S2": (12, 5_880),
    "C3": (1_516, 151_600),
    "S4": (32, 2_000),
    "C5": (48_120, 48_120),
    "F6": (10_164, 10_164),
    "output": (0, 840),
}
PAPER_PARAMETERS = 60_000
PAPER_CONNECTIONS = 340_908


@dataclass
class Trace:
    """Every intermediate of one forward pass (pre-activations `a*`, outputs `x*`, window stats `s*`)."""

    x0: torch.Tensor  # (B, 1, 32, 32)
    a1: torch.Tensor  # (B, 6, 28, 28)
    x1: torch.Tensor
    s2: torch.Tensor  # (B, 6, 14, 14) window sum / mean / max
    a2: torch.Tensor
    x2: torch.Tensor
    a3: torch.Tensor  # (B, 16, 10, 10)
    x3: torch.Tensor
    s4: torch.Tensor  # (B, 16, 5, 5)
    a4: torch.Tensor
    x4: torch.Tensor
    a5: torch.Tensor  # (B, 120)
    x5: torch.Tensor
    a6: torch.Tensor  # (B, 84)
    x6: torch.Tensor
    out: torch.Tensor  # (B, 10)


class LeNet5(nn.Module):
    def __init__(self, config: LeNet5Config = LeNet5Config(), generator: torch.Generator | None = None):
        super().__init__()
        self.config = config
        self.squash = Squash(config.activation)
        self.C1 = nn.Conv2d(1, 6, 5)
        self.S2 = Subsampling(6, config.subsampling)
        self.C3 = TableConv2d(6, 16, 5, config.c3_table)
        self.S4 = Subsampling(16, config.subsampling)
        self.C5 = nn.Conv2d(16, 120, 5)
        self.F6 = nn.Linear(120, config.f6_units)
        self.output = (EuclideanRBF(config.rbf_trainable, rbf_centers(config)) if config.output == "rbf"
                       else LinearOutput(config.f6_units))
        initialize(self, config.init, config.bias_init, generator, config.subsampling_coef_init,
                   config.subsampling_start)
        if self.is_paper_architecture():
            counts = self.layer_counts()
            assert counts == PAPER_COUNTS, f"layer counts {counts} differ from the paper's {PAPER_COUNTS}"
            assert self.num_parameters() == PAPER_PARAMETERS, self.num_parameters()
            assert sum(c for _, c in counts.values()) == PAPER_CONNECTIONS

    def is_paper_architecture(self) -> bool:
        c = self.config
        return (c.subsampling in ("sum", "average") and c.c3_table == "paper" and c.output == "rbf"
                and not c.rbf_trainable and c.f6_units == 84)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def layer_counts(self) -> dict[str, tuple[int, int]]:
        """(trainable parameters, connections) per layer, computed from the modules themselves."""

        def params(m: nn.Module) -> int:
            return sum(p.numel() for p in m.parameters())

        per_map_kernels = torch.tensor([len(ins) for ins in table(self.config.c3_table)])
        sub_inputs = 5 if self.S2.has_params else 4  # 4 inputs (+ bias) per subsampling unit
        return {
            "C1": (params(self.C1), 28 * 28 * 6 * (25 + 1)),
            "S2": (params(self.S2), 14 * 14 * 6 * sub_inputs),
            "C3": (params(self.C3), 10 * 10 * int((per_map_kernels * 25 + 1).sum())),
            "S4": (params(self.S4), 5 * 5 * 16 * sub_inputs),
            "C5": (params(self.C5), 120 * (400 + 1)),
            "F6": (params(self.F6), self.config.f6_units * (120 + 1)),
            "output": (params(self.output), 10 * self.config.f6_units + (self.config.output != "rbf") * 10),
        }

    def trace(self, x: torch.Tensor) -> Trace:
        f = self.squash
        a1 = self.C1(x)
        x1 = f(a1)
        s2 = self.S2.window(x1)
        a2 = self.S2(x1)
        x2 = f(a2) if self.S2.squashed else a2
        a3 = self.C3(x2)
        x3 = f(a3)
        s4 = self.S4.window(x3)
        a4 = self.S4(x3)
        x4 = f(a4) if self.S4.squashed else a4
        a5 = self.C5(x4).flatten(1)
        x5 = f(a5)
        a6 = self.F6(x5)
        x6 = f(a6)
        out = self.output(x6)
        return Trace(x, a1, x1, s2, a2, x2, a3, x3, s4, a4, x4, a5, x5, a6, x6, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, 32, 32) -> (B, 10)
        return self.trace(x).out

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return predict(self(x), self.config.output)

    # --- flat parameter vector (the fast path's view of the model) -----------------------------
    def get_flat(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self.parameters()]).float().contiguous()

    def set_flat(self, flat: torch.Tensor) -> None:
        torch.nn.utils.vector_to_parameters(flat.to(next(self.parameters())), self.parameters())

    def parameter_slices(self) -> dict[str, slice]:
        out, o = {}, 0
        for name, p in self.named_parameters():
            out[name] = slice(o, o + p.numel())
            o += p.numel()
        return out
