"""Speed of one online (batch-1) SDLM training step of LeNet-5, measured side by side in one run.

    python benchmarks/online_step.py [--steps 2000] [--repeats 5] [--out benchmarks/results]

Rows (same data, same machine, medians over repeats):
  naive      a plain eager PyTorch LeNet-5 written here as a user would: nn layers, autograd,
             p -= eps * grad after every pattern
  reference  lenet1998's reference path (ReferenceBackend: the readable specification)
  fast       lenet1998's C kernel, one call per pass of steps
  lockstep   K runs trained together by the C kernel on all cores, K = 1, 4, 8, 16
             (aggregate steps/s = K x steps / time)
plus the per-pass h_kk estimate (500 patterns) on each path. The last line reads
`speedup: <fast vs naive>x, lockstep K=8: <aggregate steps/s> steps/s`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from lenet1998 import LeNet5, LeNet5Config
from lenet1998.backends import Member, ReferenceBackend
from lenet1998.bitmaps import prototypes
from lenet1998.connection_table import TABLE_I
from lenet1998.data import load_mnist
from lenet1998.fast import load_kernel
from lenet1998.sdlm import flat_hkk
from lenet1998.seeds import generator
from lenet_repro.device import cpu_model


class NaiveLeNet5(nn.Module):
    """LeNet-5 as a user would write it in eager PyTorch (same maths as lenet1998)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5)
        self.s2_coef, self.s2_bias = nn.Parameter(torch.ones(6)), nn.Parameter(torch.zeros(6))
        self.c3 = nn.Conv2d(6, 16, 5)
        mask = torch.zeros(16, 6, 1, 1)
        for o, ins in enumerate(TABLE_I):
            mask[o, list(ins)] = 1
        self.register_buffer("mask", mask)
        self.s4_coef, self.s4_bias = nn.Parameter(torch.ones(16)), nn.Parameter(torch.zeros(16))
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84)
        self.register_buffer("centers", prototypes())

    @staticmethod
    def f(a):
        return 1.7159 * torch.tanh(2 * a / 3)

    def forward(self, x):
        x = self.f(self.c1(x))
        x = self.f(F.avg_pool2d(x, 2) * self.s2_coef.view(1, -1, 1, 1) + self.s2_bias.view(1, -1, 1, 1))
        x = self.f(F.conv2d(x, self.c3.weight * self.mask, self.c3.bias))
        x = self.f(F.avg_pool2d(x, 2) * self.s4_coef.view(1, -1, 1, 1) + self.s4_bias.view(1, -1, 1, 1))
        x = self.f(self.c5(x).flatten(1))
        x = self.f(self.f6(x))
        return ((x.unsqueeze(1) - self.centers) ** 2).sum(-1)


def map_loss(y, t, j=1.0):
    return y[0, t] + torch.logsumexp(torch.cat([torch.tensor([-j]), -y[0]]), 0)


def time_naive(x, y, steps):
    model = NaiveLeNet5()
    eps = [torch.full_like(p, 1e-5) for p in model.parameters()]
    t0 = time.perf_counter()
    for i in range(steps):
        out = model(x[i:i + 1])
        loss = map_loss(out, int(y[i]))
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p, e in zip(model.parameters(), eps):
                p -= e * p.grad
    return (time.perf_counter() - t0) / steps


def member(cfg, x, y, steps, seed=0):
    m = LeNet5(cfg, generator=generator(seed, "init"))
    return Member(cfg, m, m.get_flat(), eps=torch.full((m.num_parameters(),), 1e-5), images=x, labels=y,
                  order=torch.randperm(len(y), generator=generator(seed, "order"))[:steps],
                  hkk_idx=torch.arange(500))


def median_of(fn, repeats):
    return statistics.median(fn() for _ in range(repeats))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000, help="online steps per timing of the fast path")
    ap.add_argument("--slow-steps", type=int, default=300, help="steps per timing of the naive and reference paths")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="threads for lockstep (default: all cores)")
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args(argv)

    torch.manual_seed(0)
    data = load_mnist(train_subset=max(args.steps, 2000), test_subset=10)
    x, y = data.inputs("train", "paper"), data.train_labels
    cfg = LeNet5Config()
    k = load_kernel()
    threads = args.threads or os.cpu_count()
    rows = []

    naive = median_of(lambda: time_naive(x, y, args.slow_steps), args.repeats)
    rows.append(("naive eager autograd (torch)", naive))

    ref = ReferenceBackend()

    def t_ref():
        m = member(cfg, x, y, args.slow_steps)
        t0 = time.perf_counter()
        ref.train_pass([m])
        return (time.perf_counter() - t0) / args.slow_steps

    rows.append(("reference path (lenet1998)", median_of(t_ref, args.repeats)))

    def t_fast():
        m = member(cfg, x, y, args.steps)
        t0 = time.perf_counter()
        k.train_pass(cfg, m.params, m.eps, x, y, m.order)
        return (time.perf_counter() - t0) / args.steps

    fast = median_of(t_fast, args.repeats)
    rows.append(("fast path (C kernel)", fast))

    lock = {}
    for K in (1, 4, 8, 16):
        def t_lock():
            ms = [member(cfg, x, y, args.steps, seed=s) for s in range(K)]
            t0 = time.perf_counter()
            k.train_pass_many([dict(cfg=cfg, params=m.params, eps=m.eps, images=x, labels=y, order=m.order)
                               for m in ms], threads)
            return (time.perf_counter() - t0) / (K * args.steps)
        lock[K] = median_of(t_lock, max(1, args.repeats // 2))
        rows.append((f"lockstep K={K} ({threads} threads), aggregate", lock[K]))

    # the per-pass curvature estimate: 500 patterns
    m = member(cfg, x, y, 10)
    h_ref = median_of(lambda: _timed(lambda: flat_hkk(m.model, x[:500], y[:500])), 3)
    h_fast = median_of(lambda: _timed(lambda: k.hkk(cfg, m.params, x, y, torch.arange(500))), 3)

    print(f"machine: {cpu_model()}, {os.cpu_count()} logical CPUs, torch {torch.__version__} "
          f"({torch.get_num_threads()} intra-op threads), python {platform.python_version()}")
    print(f"{'path':<42} {'us/step':>10} {'steps/s':>12} {'vs naive':>9}")
    for name, sec in rows:
        print(f"{name:<42} {sec * 1e6:>10.1f} {1 / sec:>12.0f} {naive / sec:>8.1f}x")
    print(f"h_kk on 500 patterns: reference {h_ref * 1e3:.0f} ms, fast {h_fast * 1e3:.1f} ms ({h_ref / h_fast:.0f}x)")
    print(f"speedup: {naive / fast:.1f}x, lockstep K=8: {1 / lock[8]:.0f} steps/s")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"machine": cpu_model(), "cpus": os.cpu_count(), "torch": torch.__version__,
              "torch_threads": torch.get_num_threads(), "lockstep_threads": threads, "steps": args.steps,
              "slow_steps": args.slow_steps, "repeats": args.repeats,
              "us_per_step": {name: sec * 1e6 for name, sec in rows},
              "hkk_500_ms": {"reference": h_ref * 1e3, "fast": h_fast * 1e3},
              "speedup_fast_vs_naive": naive / fast, "lockstep_k8_steps_per_s": 1 / lock[8],
              "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    from lenet_repro.atomic import write_json

    write_json(out / "online_step.json", result)
    return 0


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    sys.exit(main())
