"""Loss functions of Sec. II-C and the decision rule.

- MLE, Eq. 8: E = mean_p y_{D_p} (pull the correct RBF penalty down).
- MAP, Eq. 9: E = mean_p [ y_{D_p} + log(e^{-j} + sum_i e^{-y_i(Z^p)}) ] (also push the others up;
  j > 0 keeps penalties that are already large from being pushed further).
- cross_entropy (ablation, linear output): the usual softmax loss.
- lush-edist: E = mean_p y_{D_p} / 2, Lush's edist-cost (gblearn2): half the squared distance of the
  outputs to the correct class's code, the criterion of LeCun's own LeNet-5 demo.
The predicted class is the one with the smallest penalty (largest logit for the linear output).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lenet_repro.errors import ConfigError


def mle_loss(y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return y.gather(1, target.view(-1, 1)).mean()


def map_loss(y: torch.Tensor, target: torch.Tensor, j: float) -> torch.Tensor:
    """Eq. 9, computed stably: log(e^{-j} + sum e^{-y}) = logsumexp([-j, -y_0, ..., -y_9])."""
    minus_j = torch.full_like(y[:, :1], -float(j))
    competition = torch.logsumexp(torch.cat([minus_j, -y], dim=1), dim=1)
    return (y.gather(1, target.view(-1, 1)).squeeze(1) + competition).mean()


def loss_fn(name: str, j: float = 1.0):
    """The criterion `name` (mle: Eq. 8, map: Eq. 9 with constant j, cross_entropy: the ablation)."""
    losses = {"mle": mle_loss, "map": lambda y, t: map_loss(y, t, j), "cross_entropy": F.cross_entropy,
              "lush-edist": lambda y, t: 0.5 * mle_loss(y, t)}
    if name not in losses:
        raise ConfigError(f"unknown loss {name!r}; use {', '.join(losses)}")
    return losses[name]


def predict(out: torch.Tensor, output: str = "rbf") -> torch.Tensor:
    return out.argmin(1) if output == "rbf" else out.argmax(1)


