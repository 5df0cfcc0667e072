"""Speed of one online (batch-1) SDLM training step of LeNet-5, every path measured side by side in
one run on one machine, against fair baselines at their best settings (issue 9).

    python benchmarks/online_step.py [--steps 3000] [--slow-steps 300] [--repeats 5] [--out benchmarks/results]

Rows (the same real MNIST patterns, medians over repeats):
  naive eager     a plain eager PyTorch LeNet-5 written as a user would (nn layers, autograd,
                  p -= eps * grad after every pattern), at torch threads 1 and 2, oneDNN on and off;
                  the best of the four is THE baseline every ratio is taken against
  torch.compile   the same model compiled (inductor), at its best thread count
  torch lockstep  K runs advanced together in torch: torch.func.vmap over the K parameter sets,
                  batch 1 each, one fused update (aggregate steps/s = K x steps / time)
  reference       lenet1998's reference path (ReferenceBackend: the readable specification)
  fast            lenet1998's C kernel, one call per pass of steps (one thread)
  lockstep        K runs in the C kernel on all cores, K = 1, 2, 4, 8, 16 (aggregate)
The compute floor: the step's floating-point operations (counted from the layer sizes below) at the
machine's measured float32 matmul rate (torch.mm 1024^2, 1 thread for solo rows, all cores for
aggregate rows); "of floor" = floor time / measured time.
"""

from __future__ import annotations

import argparse
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
from lenet1998.fast.build import build_info, cpu_flags
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


def map_loss(y, onehot, j=1.0):
    """Eq. 9 for one pattern: y_D + log(e^-j + sum_i e^-y_i); `onehot` (10,) marks D (vmap-able)."""
    return (y[0] * onehot).sum() + torch.logsumexp(torch.cat([torch.full((1,), -j), -y[0]]), 0)


def step_flops() -> int:
    """Floating-point operations of one online step (multiply-add = 2), from the layer sizes:
    forward, the input gradients of C3/C5/F6/RBF (C1 needs none), the weight gradients, the update."""
    fwd = 6 * 784 * 25 + 100 * 60 * 25 + 120 * 400 + 84 * 120 + 10 * 84  # C1, C3 (Table I), C5, F6, RBF
    back_in = 100 * 60 * 25 + 120 * 400 + 84 * 120 + 10 * 84
    back_w = 6 * 784 * 25 + 100 * 60 * 25 + 120 * 400 + 84 * 120
    update = 60_000
    return 2 * (fwd + back_in + back_w + update)


def matmul_gflops(threads: int, n: int = 1024, reps: int = 20) -> float:
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    dt = (time.perf_counter() - t0) / reps
    torch.set_num_threads(old)
    return 2 * n ** 3 / dt / 1e9


def _onehots(y):
    return F.one_hot(y, 10).float()


def time_naive(x, y, steps, threads, mkldnn, compiled=False, warmup=0):
    torch.set_num_threads(threads)
    torch.backends.mkldnn.enabled = mkldnn
    model = NaiveLeNet5()
    fwd = torch.compile(model) if compiled else model
    eps = [torch.full_like(p, 1e-5) for p in model.parameters()]
    oh = _onehots(y)

    def step(i):
        loss = map_loss(fwd(x[i:i + 1]), oh[i])
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p, e in zip(model.parameters(), eps):
                p -= e * p.grad

    for i in range(warmup):
        step(i)
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    torch.backends.mkldnn.enabled = True
    return (time.perf_counter() - t0) / steps


def time_torch_lockstep(x, y, steps, K, threads):
    """K runs, batch 1 each, advanced together: vmap of the per-run gradient, one stacked update."""
    from torch.func import functional_call, grad, vmap

    torch.set_num_threads(threads)
    models = [NaiveLeNet5() for _ in range(K)]
    names = [n for n, _ in models[0].named_parameters()]
    P = {n: torch.stack([dict(m.named_parameters())[n].detach() for m in models]) for n in names}
    buffers = dict(models[0].named_buffers())
    oh = _onehots(y)

    def loss_of(p, xi, ohi):
        return map_loss(functional_call(models[0], {**p, **buffers}, (xi,)), ohi)

    g_fn = vmap(grad(loss_of))
    eps = 1e-5
    order = [torch.randperm(len(y), generator=generator(k, "order"))[:steps] for k in range(K)]
    idx = torch.stack(order, 1)  # (steps, K)
    t0 = time.perf_counter()
    for s in range(steps):
        i = idx[s]
        g = g_fn(P, x[i].unsqueeze(1), oh[i])  # x[i]: (K, 1, 1, 32, 32): batch 1 per run
        for n in names:
            P[n] -= eps * g[n]
    return (time.perf_counter() - t0) / (K * steps)


def member(cfg, x, y, steps, seed=0):
    m = LeNet5(cfg, generator=generator(seed, "init"))
    return Member(cfg, m, m.get_flat(), eps=torch.full((m.num_parameters(),), 1e-5), images=x, labels=y,
                  order=torch.randperm(len(y), generator=generator(seed, "order"))[:steps],
                  hkk_idx=torch.arange(500))


def median_of(fn, repeats):
    return statistics.median(fn() for _ in range(repeats))


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000, help="online steps per timing of the C kernel")
    ap.add_argument("--slow-steps", type=int, default=300, help="steps per timing of the torch paths")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile row (needs a C++ compiler)")
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args(argv)
    if min(args.steps, args.slow_steps, args.repeats) < 1:
        ap.error("--steps, --slow-steps and --repeats must be positive")

    torch.manual_seed(0)
    data = load_mnist(train_subset=max(args.steps, 2000), test_subset=10)
    x, y = data.inputs("train", "paper"), data.train_labels
    cfg = LeNet5Config()
    k = load_kernel()
    cores = os.cpu_count() or 1
    rows = []  # (name, seconds per step, solo|aggregate, threads)

    naive = {}
    for threads in sorted({1, cores}):
        for mkldnn in (True, False):
            t = median_of(lambda: time_naive(x, y, args.slow_steps, threads, mkldnn, warmup=20), args.repeats)
            naive[(threads, mkldnn)] = t
            rows.append((f"naive eager, {threads} thread{'s' * (threads > 1)}, oneDNN {'on' if mkldnn else 'off'}",
                         t, "solo", threads))
    best_key = min(naive, key=naive.get)
    baseline = naive[best_key]

    if not args.no_compile:
        comp = {}
        for threads in sorted({1, cores}):
            try:
                time_naive(x, y, 5, threads, True, compiled=True, warmup=30)  # compile (not timed)
                comp[threads] = median_of(lambda: time_naive(x, y, args.slow_steps, threads, True, compiled=True,
                                                             warmup=5), args.repeats)
            except Exception as e:  # noqa: BLE001 - inductor needs a working C++ toolchain
                print(f"torch.compile unavailable ({type(e).__name__}: {str(e).splitlines()[0][:100]})")
                break
        if comp:
            bt = min(comp, key=comp.get)
            rows.append((f"torch.compile (inductor), {bt} thread{'s' * (bt > 1)}", comp[bt], "solo", bt))

    for K in (8,):
        tl = {th: median_of(lambda: time_torch_lockstep(x, y, args.slow_steps // 2, K, th), max(1, args.repeats // 2))
              for th in sorted({1, cores})}
        bt = min(tl, key=tl.get)
        rows.append((f"torch lockstep (vmap) K={K}, {bt} thread{'s' * (bt > 1)}, aggregate", tl[bt], "aggregate", bt))

    torch.set_num_threads(cores)
    ref = ReferenceBackend()

    def t_ref():
        m = member(cfg, x, y, args.slow_steps)
        t0 = time.perf_counter()
        ref.train_pass([m])
        return (time.perf_counter() - t0) / args.slow_steps

    rows.append(("reference path (lenet1998)", median_of(t_ref, args.repeats), "solo", cores))

    def t_fast():
        m = member(cfg, x, y, args.steps)
        t0 = time.perf_counter()
        k.train_pass(cfg, m.params, m.eps, x, y, m.order)
        return (time.perf_counter() - t0) / args.steps

    fast = median_of(t_fast, args.repeats)
    rows.append(("fast path (C kernel), solo", fast, "solo", 1))

    lock = {}
    for K in (1, 2, 4, 8, 16):
        def t_lock():
            ms = [member(cfg, x, y, args.steps, seed=s) for s in range(K)]
            t0 = time.perf_counter()
            k.train_pass_many([dict(cfg=cfg, params=m.params, eps=m.eps, images=x, labels=y, order=m.order)
                               for m in ms], cores)
            return (time.perf_counter() - t0) / (K * args.steps)
        lock[K] = median_of(t_lock, max(1, args.repeats // 2 + 1))
        rows.append((f"C kernel lockstep K={K} ({cores} threads), aggregate", lock[K], "aggregate", min(K, cores)))

    m = member(cfg, x, y, 10)
    h_ref = median_of(lambda: _timed(lambda: flat_hkk(m.model, x[:500], y[:500])), 3)
    h_fast = median_of(lambda: _timed(lambda: k.hkk(cfg, m.params, x, y, torch.arange(500))), 3)

    gflops = {1: matmul_gflops(1), cores: matmul_gflops(cores)}
    flops = step_flops()
    floor = {"solo": flops / (gflops[1] * 1e9), "aggregate": flops / (gflops[cores] * 1e9)}

    avx512 = "avx512f" in cpu_flags()
    print(f"machine: {cpu_model()} ({'AVX-512' if avx512 else 'AVX2'}), {cores} logical CPUs, torch {torch.__version__}, "
          f"python {platform.python_version()}; kernel {build_info()['target']} "
          f"(numeric build {build_info()['numeric_build']})")
    print(f"baseline = the best naive eager setting: {rows[list(naive).index(best_key)][0]}")
    print(f"compute floor: {flops / 1e6:.2f} MFLOP/step at {gflops[1]:.0f} GFLOP/s (1 thread) = "
          f"{floor['solo'] * 1e6:.1f} us solo; at {gflops[cores]:.0f} GFLOP/s ({cores} threads) = "
          f"{floor['aggregate'] * 1e6:.1f} us aggregate")
    print(f"{'path':<58} {'us/step':>9} {'steps/s':>9} {'vs baseline':>12} {'of floor':>9}")
    for name, sec, kind, _ in rows:
        print(f"{name:<58} {sec * 1e6:>9.1f} {1 / sec:>9.0f} {baseline / sec:>11.1f}x {floor[kind] / sec:>8.0%}")
    print(f"h_kk on 500 patterns: reference {h_ref * 1e3:.0f} ms, fast {h_fast * 1e3:.1f} ms ({h_ref / h_fast:.0f}x)")
    best_lock = min(lock, key=lock.get)
    print(f"speedup: fast solo {baseline / fast:.1f}x the best naive baseline; lockstep K={best_lock}: "
          f"{1 / lock[best_lock]:.0f} steps/s")

    out = Path(args.out)
    result = {"machine": cpu_model(), "avx512": avx512, "cpus": cores, "torch": torch.__version__,
              "python": platform.python_version(), "kernel": build_info(), "steps": args.steps,
              "slow_steps": args.slow_steps, "repeats": args.repeats,
              "rows": [{"path": n, "us_per_step": s * 1e6, "steps_per_s": 1 / s, "kind": kind, "threads": th,
                        "vs_baseline": baseline / s, "of_floor": floor[kind] / s} for n, s, kind, th in rows],
              "baseline": rows[list(naive).index(best_key)][0],
              "floor": {"mflop_per_step": flops / 1e6, "matmul_gflops": {str(t): g for t, g in gflops.items()},
                        "solo_us": floor["solo"] * 1e6, "aggregate_us": floor["aggregate"] * 1e6},
              "hkk_500_ms": {"reference": h_ref * 1e3, "fast": h_fast * 1e3},
              "fast_solo_us": fast * 1e6, "speedup_fast_vs_baseline": baseline / fast,
              "best_lockstep": {"K": best_lock, "steps_per_s": 1 / lock[best_lock]},
              "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    from lenet_repro.atomic import write_json

    write_json(out / "online_step.json", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
