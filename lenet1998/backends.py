"""Two interchangeable engines for the training loop in `lenet1998.train`.

- `ReferenceBackend`: plain PyTorch autograd, one pattern at a time, SDLM step from `sdlm.py`,
  h_kk from the explicit second-derivative back-propagation. The readable specification; runs on
  any device; also runs the minibatch-SGD ablation.
- `FastBackend`: the C kernel (`lenet1998/fast/lenet5.c`) on the CPU. Same numbers (tested), many
  times faster per step (measured by benchmarks/online_step.py, in the README), and lockstep: K runs
  advance together on all cores.

A backend works on `Member`s: one run's config, flat parameter vector and this pass's data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .config import LeNet5Config
from .loss import loss_fn, predict
from .model import LeNet5
from .sdlm import flat_hkk, sdlm_step


@dataclass
class Member:
    cfg: LeNet5Config
    model: LeNet5  # holds the parameters between passes (and for evaluation)
    params: torch.Tensor = field(default=None)  # flat float32 (P,), the training state during a pass
    eps: torch.Tensor | None = None  # per-parameter step sizes of this pass
    images: torch.Tensor | None = None  # (n, 1, 32, 32) float32 this pass's patterns
    labels: torch.Tensor | None = None
    order: torch.Tensor | None = None  # int64 indices into images, in presentation order
    hkk_idx: torch.Tensor | None = None  # int64 indices of the h_kk patterns
    pass_index: int = 0


class ReferenceBackend:
    name = "reference"

    def __init__(self, device: torch.device | str = "cpu"):
        self.device = torch.device(device)

    def hkk(self, members: list[Member]) -> list[torch.Tensor]:
        out = []
        for m in members:
            m.model.set_flat(m.params)
            idx = m.hkk_idx.to(self.device)
            out.append(flat_hkk(m.model, m.images.to(self.device)[idx], m.labels.to(self.device)[idx]).cpu())
        return out

    def train_pass(self, members: list[Member]) -> list[tuple[float, int]]:
        return [self._minibatch(m) if m.cfg.optimizer == "minibatch-sgd" else self._online(m) for m in members]

    def _online(self, m: Member) -> tuple[float, int]:
        """Batch size 1, SDLM (or plain SGD) step after every pattern, in the given order."""
        model, cfg = m.model, m.cfg
        model.set_flat(m.params)
        lf = loss_fn(cfg.loss, cfg.map_j)
        slices = model.parameter_slices()
        eps = {n: m.eps[s].to(self.device).view_as(p) for (n, s), p in zip(slices.items(), model.parameters())}
        images, labels = m.images.to(self.device), m.labels.to(self.device)
        loss_sum, errors = 0.0, 0
        for t in m.order.tolist():
            x, y = images[t:t + 1], labels[t:t + 1]
            out = model(x)  # (1, 10)
            loss = lf(out, y)
            model.zero_grad(set_to_none=False)
            loss.backward()
            sdlm_step(model, eps)  # SDLM: eps_k = eta / (mu + h_kk); plain SGD: one rate for all
            loss_sum += loss.item()
            errors += int(predict(out.detach(), cfg.output).item() != y.item())
        m.params = model.get_flat().cpu()
        return loss_sum, errors

    def _minibatch(self, m: Member) -> tuple[float, int]:
        """Ablation: plain minibatch SGD on the mean loss, rate scaled by the pass schedule."""
        model, cfg = m.model, m.cfg
        model.set_flat(m.params)
        lf = loss_fn(cfg.loss, cfg.map_j)
        lr = cfg.minibatch_lr * cfg.rate(m.pass_index) / cfg.rate(0)
        images, labels = m.images.to(self.device), m.labels.to(self.device)
        order = m.order.to(self.device)
        loss_sum, errors = 0.0, 0
        for i in range(0, len(order), cfg.minibatch_size):
            idx = order[i:i + cfg.minibatch_size]
            out = model(images[idx])
            loss = lf(out, labels[idx])
            model.zero_grad(set_to_none=False)
            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= lr * p.grad
            loss_sum += loss.item() * len(idx)
            errors += int((predict(out.detach(), cfg.output) != labels[idx]).sum().item())
        m.params = model.get_flat().cpu()
        return loss_sum, errors

    @torch.no_grad()
    def forward(self, cfg: LeNet5Config, model: LeNet5, params: torch.Tensor, images: torch.Tensor,
                chunk: int = 2000) -> torch.Tensor:
        model.set_flat(params)
        model.eval()
        out = torch.cat([model(images[i:i + chunk].to(self.device)).cpu() for i in range(0, len(images), chunk)])
        model.train()
        return out


class FastBackend(ReferenceBackend):
    name = "fast"

    def __init__(self, threads: int | None = None):
        super().__init__("cpu")
        from .fast import load_kernel

        self.kernel = load_kernel()
        self.threads = threads

    def hkk(self, members: list[Member]) -> list[torch.Tensor]:
        return self.kernel.hkk_many([dict(cfg=m.cfg, params=m.params, images=m.images, labels=m.labels,
                                          idx=m.hkk_idx) for m in members], self.threads)

    def train_pass(self, members: list[Member]) -> list[tuple[float, int]]:
        online = [m for m in members if m.cfg.optimizer != "minibatch-sgd"]
        results = dict(zip(map(id, online), self.kernel.train_pass_many(
            [dict(cfg=m.cfg, params=m.params, eps=m.eps, images=m.images, labels=m.labels, order=m.order)
             for m in online], self.threads))) if online else {}
        return [results[id(m)] if id(m) in results else self._minibatch(m) for m in members]

    def forward(self, cfg, model, params, images, chunk: int = 0) -> torch.Tensor:
        return self.kernel.forward(cfg, params, images, self.threads)


def make_backend(name: str, device: torch.device, configs: list[LeNet5Config], log=print):
    """'auto': the fast path on CPU when it builds, else the reference path (with one notice)."""
    from lenet_repro.errors import ConfigError

    from .fast import fast_available

    if name not in ("auto", "fast", "reference"):
        raise ConfigError(f"unknown backend {name!r}; use auto, fast or reference")
    if name == "reference" or device.type != "cpu":
        return ReferenceBackend(device)
    if fast_available(notice=True):
        return FastBackend()
    if name == "fast":
        raise ConfigError("--backend fast was requested but the C kernel could not be built; "
                          "install gcc or use --backend reference")
    return ReferenceBackend(device)
