"""Speed of one online (batch-1) SDLM step of each layered comparison network of Fig. 9 (the MLPs of
Sec. III-C.5/6, LeNet-1, LeNet-4), every path measured side by side in one run on one machine.

    python benchmarks/layered_step.py [--steps 3000] [--slow-steps 300] [--repeats 3] [--out benchmarks/results]

Writes <out>/layered_step.json (the README's speed-layered block is rendered from it).

Rows per net (the same synthetic patterns in the paper's input range, best of --repeats):
  kernel      lenet1998/fast/layered.c, one call per pass of steps, one thread
  kernel x2   train_pass_many: K = 2 independent runs on 2 threads (aggregate: wall / (2 x steps))
  mlp         lenet1998.comparison.mlp.online_pass, torch by hand, one thread (MLPs only)
  autograd    THE baseline: plain eager PyTorch as a user would write it -- per-layer parameter
              tensors, forward, loss.backward(), p -= eps * p.grad -- at its best of torch threads 1 and 2
"x base" = baseline time / row time. "run min" = the kernel's minutes for 20 passes of 60,000 patterns.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lenet1998.comparison import convnets as cn
from lenet1998.comparison import mlp
from lenet1998.fast.build import LAYERED_SOURCE, build_info
from lenet1998.fast.layered import CONV, FULL, load_layered_kernel
from lenet_repro.device import cpu_model

NETS = {**{"-".join(map(str, s)): (lambda s=s: cn.mlp_net(s)) for s in cn.MLP_SIZES},
        "lenet1": cn.lenet1, "lenet4": cn.lenet4}


def patterns(net, n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, *net.input_shape, generator=g, dtype=torch.float64) * 1.275 - 0.1).float()
    return x, torch.randint(0, 10, (n,), generator=g)


def best_of(repeats: int, fn) -> float:
    """The smallest wall time of `repeats` calls of fn()."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


class PlainAutograd:
    """The net as a user writes it: a leaf tensor per weight and bias (CONV: dense kernels masked by the
    table), eager forward, loss.backward(), then p -= eps * p.grad for each."""

    def __init__(self, net, params: torch.Tensor, eps: torch.Tensor):
        self.net, self.layers = net, []
        for p in net.placed:
            w = params[p.w_offset:p.b_offset].reshape(p.w_shape)
            ew = eps[p.w_offset:p.b_offset].reshape(p.w_shape)
            mask = None
            if p.layer.kind == CONV:
                o, i = torch.tensor(p.pairs).T
                shape = (p.out_shape[0], p.in_shape[0], p.layer.k, p.layer.k)
                mask = torch.zeros(shape).index_put((o, i), torch.ones(len(p.pairs), p.layer.k, p.layer.k))
                w = torch.zeros(shape).index_put((o, i), w)
                ew = torch.zeros(shape).index_put((o, i), ew)
            src = torch.tensor([s for _, s in p.pairs]) if p.layer.kind not in (FULL, CONV) else None
            self.layers.append(dict(kind=p.layer.kind, w=w.clone().requires_grad_(True), ew=ew, mask=mask, src=src,
                                    b=params[p.b_offset:p.end].clone().requires_grad_(True),
                                    eb=eps[p.b_offset:p.end].clone()))

    def step(self, x: torch.Tensor, t: torch.Tensor) -> None:
        h = x.unsqueeze(0)
        for L in self.layers:
            if L["kind"] == FULL:
                a = F.linear(h.flatten(1), L["w"], L["b"])
            elif L["kind"] == CONV:
                a = F.conv2d(h, L["w"] * L["mask"], L["b"])
            else:
                a = F.avg_pool2d(h[:, L["src"]], 2) * L["w"].view(1, -1, 1, 1) + L["b"].view(1, -1, 1, 1)
            h = 1.7159 * torch.tanh(a * (2.0 / 3.0))
        ((h.flatten() - t) ** 2).sum().backward()
        with torch.no_grad():
            for L in self.layers:
                for p, e in ((L["w"], L["ew"]), (L["b"], L["eb"])):
                    p -= e * p.grad
                    p.grad = None


def measure(name: str, args) -> dict:
    k = load_layered_kernel()
    net = NETS[name]()
    x, y = patterns(net, max(args.steps, args.slow_steps))
    p0 = cn.init_params(net, torch.Generator().manual_seed(1))
    eps = (0.0005 / (0.02 + k.hkk(net, p0, x, torch.arange(500)))).float().contiguous()
    torch.set_num_threads(1)
    order = torch.arange(args.steps)
    p = p0.clone()
    row = {"kernel": best_of(args.repeats, lambda: k.train_pass(net, p, eps, x, y, order)) / args.steps}
    members = [dict(params=p0.clone(), eps=eps, x=x, labels=y, order=order) for _ in range(2)]
    row["kernel x2"] = best_of(args.repeats, lambda: k.train_pass_many(net, members, threads=2)) / (2 * args.steps)
    slow = torch.arange(args.slow_steps)
    if all(q.layer.kind == FULL for q in net.placed):
        m = mlp.build(tuple([net.input_size] + [q.n_out for q in net.placed]), torch.Generator().manual_seed(1))
        blocks = [b for q in net.placed for b in ((q.w_offset, q.b_offset), (q.b_offset, q.end))]
        eps_list = [eps[a:b].reshape(t.shape) for (a, b), t in zip(blocks, m.params)]
        xf, tf = x.reshape(len(x), -1), mlp.targets(y)
        row["mlp"] = best_of(args.repeats, lambda: mlp.online_pass(m, eps_list, xf, tf, slow)) / args.slow_steps
    tt = cn.targets(y)
    base = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        plain = PlainAutograd(net, p0, eps)
        base[threads] = best_of(args.repeats, lambda plain=plain: [plain.step(x[i], tt[i]) for i in slow]) \
            / args.slow_steps
    torch.set_num_threads(1)
    best_threads = min(base, key=base.get)
    row["autograd"] = base[best_threads]
    row["autograd_threads"] = best_threads
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=3000, help="kernel steps per timing")
    ap.add_argument("--slow-steps", type=int, default=300, help="torch steps per timing (mlp, autograd)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--nets", nargs="*", default=list(NETS), choices=list(NETS))
    ap.add_argument("--out", default=None, help="folder for layered_step.json (default: print only)")
    args = ap.parse_args(argv)
    if min(args.steps, args.slow_steps, args.repeats) < 1 or args.steps < 500:
        ap.error("--steps (>= 500: h_kk uses 500 patterns), --slow-steps and --repeats must be positive")
    info = build_info(source=LAYERED_SOURCE)
    print(f"{cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__}; python {platform.python_version()}; "
          f"layered kernel {info['target']} (numeric build {info['numeric_build']})")
    print(f"us per online step (best of {args.repeats}; kernel {args.steps} steps, torch {args.slow_steps})")
    print(f"{'net':<16}{'kernel':>9}{'kernel x2':>11}{'mlp':>9}{'autograd':>12}{'kernel x base':>15}"
          f"{'x2 x base':>11}{'mlp x base':>12}{'run min':>9}")
    rows = {}
    for name in args.nets:
        r = rows[name] = measure(name, args)
        us = {c: f"{r[c] * 1e6:.1f}" if c in r else "-" for c in ("kernel", "kernel x2", "mlp", "autograd")}
        ratio = {c: f"{r['autograd'] / r[c]:.1f}x" if c in r else "-" for c in ("kernel", "kernel x2", "mlp")}
        print(f"{name:<16}{us['kernel']:>9}{us['kernel x2']:>11}{us['mlp']:>9}"
              f"{us['autograd'] + '/' + str(r['autograd_threads']) + 't':>12}{ratio['kernel']:>15}"
              f"{ratio['kernel x2']:>11}{ratio['mlp']:>12}{r['kernel'] * 1.2e6 / 60:>9.1f}")
    print("autograd: value/Nt = at its best torch thread count N")
    if args.out:
        import json
        from datetime import datetime, timezone

        from lenet_repro.atomic import write_text

        out = {"machine": cpu_model(), "cpus": os.cpu_count(), "torch": torch.__version__, "kernel": info,
               "steps": args.steps, "slow_steps": args.slow_steps, "repeats": args.repeats,
               "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "us_per_step": {n: {k: (v * 1e6 if k != "autograd_threads" else v) for k, v in r.items()}
                               for n, r in rows.items()}}
        path = Path(args.out) / "layered_step.json"
        write_text(path, json.dumps(out, indent=1) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
