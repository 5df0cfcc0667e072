"""Layered feed-forward networks (the comparison nets of Fig. 9: Sec. III-C.5 to III-C.8) and the ctypes
binding of their C kernel (layered.c).

A `Net` is a list of `Layer`s on an input shape, every layer followed by LeNet-5's squashing
f(a) = 1.7159 tanh(2a/3) (Appendix A):
  full(n)                 a_j = b_j + sum_i w_ji x_i over the previous output, flattened
  conv(maps, k, table)    a_o = b_o + sum over the table's pairs (o, i) of the k x k valid
                          cross-correlation of input map i with the pair's kernel (Sec. II-A)
  sub(sources)            a_m = c_m mean(2 x 2 window of input map sources[m]) + b_m (Sec. II-B's S2)
Parameters, flat float32, layer by layer: FULL weights (n_out, n_in) then biases; CONV kernels
(n_pairs, k, k) in table order then one bias per output map; SUB coefficients then biases.
lenet1998/comparison/convnets.py defines the paper's networks and the torch reference this kernel
is tested against (tests/test_fast_layered.py). Every kernel call checks dtypes, shapes and
contiguity, because the C side trusts its pointers.
"""

from __future__ import annotations

import ctypes
import math
import os
from ctypes import POINTER, c_double, c_float, c_int, c_int32, c_int64, c_void_p
from dataclasses import dataclass
from functools import cached_property, lru_cache

import torch

from lenet_repro.errors import ConfigError

from .binding import default_threads
from .build import LAYERED_SOURCE, BuildError, build

FULL, CONV, SUB = "full", "conv", "sub"
KINDS = {FULL: 0, CONV: 1, SUB: 2}
MAX_LAYERS, MAX_PAIRS, MAX_MAPS = 8, 256, 64  # layered.c's LAYERED_MAX_LAYERS, _PAIRS, _MAPS


@dataclass(frozen=True)
class Layer:
    """One layer (build with `full`, `conv`, `sub`). n: FULL units or CONV output maps; k: CONV kernel
    size; table: CONV (out_map, in_map) pairs, None = every pair; sources: SUB input map of each output
    map, None = map i from map i (then as many maps as its input)."""

    kind: str
    n: int = 0
    k: int = 0
    table: tuple[tuple[int, int], ...] | None = None
    sources: tuple[int, ...] | None = None
    name: str = ""


def full(n: int, name: str = "") -> Layer:
    return Layer(FULL, n=n, name=name)


def conv(maps: int, k: int, table=None, name: str = "") -> Layer:
    return Layer(CONV, n=maps, k=k, table=None if table is None else tuple((int(o), int(i)) for o, i in table),
                 name=name)


def sub(sources=None, name: str = "") -> Layer:
    return Layer(SUB, sources=None if sources is None else tuple(int(s) for s in sources), name=name)


@dataclass(frozen=True)
class Placed:
    """A layer placed in its net: shapes (maps, h, w), its resolved connections and parameter slices."""

    layer: Layer
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    pairs: tuple[tuple[int, int], ...]  # CONV (out, in) pairs; SUB (m, sources[m]); FULL ()
    w_offset: int  # weights (FULL, CONV) or coefficients (SUB)
    w_shape: tuple[int, ...]
    b_offset: int
    b_count: int

    @property
    def n_in(self) -> int:
        return math.prod(self.in_shape)

    @property
    def n_out(self) -> int:
        return math.prod(self.out_shape)

    @property
    def end(self) -> int:
        return self.b_offset + self.b_count


class Net:
    """A layered network on inputs of `input_shape` ((D,) or (maps, h, w)); raises ConfigError when the
    layers do not fit together."""

    def __init__(self, layers, input_shape, name: str = ""):
        self.layers = tuple(layers)
        self.name = name
        shape = tuple(int(s) for s in input_shape)
        if len(shape) == 1:
            shape = (shape[0], 1, 1)
        if len(shape) != 3 or min(shape) < 1:
            raise ConfigError(f"{name or 'net'}: input_shape must be (D,) or (maps, h, w), got {input_shape}")
        self.input_shape = tuple(int(s) for s in input_shape)
        if not 1 <= len(self.layers) <= MAX_LAYERS:
            raise ConfigError(f"{name or 'net'}: needs 1 to {MAX_LAYERS} layers, got {len(self.layers)}")
        placed, offset = [], 0
        for idx, layer in enumerate(self.layers):
            p = _place(layer, shape, offset, f"{name or 'net'} layer {idx} ({layer.name or layer.kind})")
            placed.append(p)
            shape, offset = p.out_shape, p.end
        if placed[-1].n_out < 2:
            raise ConfigError(f"{name or 'net'}: the output layer needs at least 2 units")
        self.placed: tuple[Placed, ...] = tuple(placed)

    def __repr__(self) -> str:
        return f"Net({self.name or [p.layer for p in self.placed]!r})"

    @property
    def input_size(self) -> int:
        return math.prod(self.input_shape)

    @property
    def n_outputs(self) -> int:
        return self.placed[-1].n_out

    @property
    def param_count(self) -> int:
        return self.placed[-1].end

    @property
    def offsets(self) -> list[tuple[int, int]]:
        """Per layer (first parameter, one past its last)."""
        return [(p.w_offset, p.end) for p in self.placed]

    @property
    def connections(self) -> int:
        """Multiply-adds per recognition, a bias counted as one connection, as the paper counts
        LeNet-5's (Sec. II-B: C1's 122,304 = 28 x 28 x 6 x (25 + 1))."""
        total = 0
        for p in self.placed:
            maps, h, w = p.out_shape
            if p.layer.kind == FULL:
                total += p.n_out * (p.n_in + 1)
            elif p.layer.kind == CONV:
                total += h * w * (len(p.pairs) * p.layer.k ** 2 + maps)
            else:
                total += maps * h * w * 5
        return total

    @cached_property
    def fan_ins(self) -> torch.Tensor:
        """(param_count,) int64: the fan-in F_i of the unit each parameter feeds (SUB: the 4 inputs
        of its window), for the initialisation U(+-2.4 / sqrt(F_i)) (Sec. II-B footnote)."""
        out = torch.empty(self.param_count, dtype=torch.int64)
        for p in self.placed:
            if p.layer.kind == FULL:
                out[p.w_offset:p.end] = p.n_in
            elif p.layer.kind == CONV:
                kk = p.layer.k ** 2
                per_map = torch.zeros(p.out_shape[0], dtype=torch.int64)
                for o, _ in p.pairs:
                    per_map[o] += kk
                outs = torch.tensor([o for o, _ in p.pairs])
                out[p.w_offset:p.b_offset] = per_map[outs].repeat_interleave(kk)
                out[p.b_offset:p.end] = per_map
            else:
                out[p.w_offset:p.end] = 4
        return out

    def layer_index(self, layer: int | str) -> int:
        """A layer by index or name."""
        if isinstance(layer, str):
            names = [p.layer.name for p in self.placed]
            if layer not in names:
                raise ConfigError(f"{self.name or 'net'} has no layer {layer!r}; its layers: {names}")
            return names.index(layer)
        if not -len(self.placed) <= layer < len(self.placed):
            raise ConfigError(f"{self.name or 'net'} has no layer {layer}")
        return layer % len(self.placed)

    @cached_property
    def structs(self):
        """The layer list as layered.c's Layer struct array."""
        arr = (LayerStruct * len(self.placed))()
        for s, p in zip(arr, self.placed):
            s.kind = KINDS[p.layer.kind]
            s.in_maps, s.in_h, s.in_w = p.in_shape
            s.out_maps, s.out_h, s.out_w = p.out_shape
            s.k = p.layer.k
            s.n_pairs = len(p.pairs) if p.layer.kind != FULL else 0
            for c, (o, i) in enumerate(p.pairs):
                s.pair_out[c], s.pair_in[c] = o, i
        return arr


def _place(layer: Layer, shape: tuple[int, int, int], offset: int, where: str) -> Placed:
    maps, h, w = shape
    if layer.kind == FULL:
        if layer.n < 1:
            raise ConfigError(f"{where}: a full layer needs at least 1 unit, got {layer.n}")
        n_in = maps * h * w
        return Placed(layer, shape, (layer.n, 1, 1), (), offset, (layer.n, n_in), offset + layer.n * n_in, layer.n)
    if layer.kind == CONV:
        k = layer.k
        if not 1 <= layer.n <= MAX_MAPS or maps > MAX_MAPS:
            raise ConfigError(f"{where}: a conv layer reads and makes 1 to {MAX_MAPS} maps ({maps} -> {layer.n})")
        if not 1 <= k <= min(h, w):
            raise ConfigError(f"{where}: kernel {k} does not fit {h}x{w} maps")
        pairs = layer.table if layer.table is not None else tuple((o, i) for o in range(layer.n) for i in range(maps))
        if not 1 <= len(pairs) <= MAX_PAIRS or len(set(pairs)) != len(pairs):
            raise ConfigError(f"{where}: the table needs 1 to {MAX_PAIRS} distinct (out, in) pairs")
        if any(not (0 <= o < layer.n and 0 <= i < maps) for o, i in pairs):
            raise ConfigError(f"{where}: a table pair is outside {layer.n} output x {maps} input maps")
        if {o for o, _ in pairs} != set(range(layer.n)):
            raise ConfigError(f"{where}: every output map needs at least one input map in the table")
        w_count = len(pairs) * k * k
        return Placed(layer, shape, (layer.n, h - k + 1, w - k + 1), tuple(pairs), offset, (len(pairs), k, k),
                      offset + w_count, layer.n)
    if layer.kind == SUB:
        if h % 2 or w % 2:
            raise ConfigError(f"{where}: 2x2 subsampling needs even map sizes, got {h}x{w}")
        sources = layer.sources if layer.sources is not None else tuple(range(maps))
        if not 1 <= len(sources) <= MAX_PAIRS or any(not 0 <= s < maps for s in sources):
            raise ConfigError(f"{where}: 1 to {MAX_PAIRS} source maps, each one of the {maps} input maps")
        n = len(sources)
        return Placed(layer, shape, (n, h // 2, w // 2), tuple(enumerate(sources)), offset, (n,), offset + n, n)
    raise ConfigError(f"{where}: unknown layer kind {layer.kind!r}; use full, conv or sub")


# ---------------------------------------------------------------------------------------- binding


class LayerStruct(ctypes.Structure):
    _fields_ = [("kind", c_int32), ("in_maps", c_int32), ("in_h", c_int32), ("in_w", c_int32),
                ("out_maps", c_int32), ("out_h", c_int32), ("out_w", c_int32), ("k", c_int32),
                ("n_pairs", c_int32), ("pair_out", c_int32 * MAX_PAIRS), ("pair_in", c_int32 * MAX_PAIRS)]


def _cpu(t, name: str, dtype: torch.dtype) -> torch.Tensor:
    if not isinstance(t, torch.Tensor) or t.dtype != dtype or t.device.type != "cpu" or not t.is_contiguous():
        raise ValueError(f"{name} must be a contiguous {str(dtype).replace('torch.', '')} CPU tensor")
    return t


def _ptr(t: torch.Tensor) -> c_void_p:
    return c_void_p(t.data_ptr())


class LayeredKernel:
    """The compiled layered.c. Every call takes the `Net` the parameters belong to."""

    def __init__(self, lib: ctypes.CDLL):
        self.lib = lib
        L, PP, I64 = POINTER(LayerStruct), POINTER(c_void_p), POINTER(c_int64)
        lib.layered_numerics.restype = c_int
        lib.layered_sizeof_layer.restype = c_int
        lib.layered_max_layers.restype = c_int
        lib.layered_param_count.argtypes = [L, c_int]
        lib.layered_param_count.restype = c_int
        lib.layered_forward_mt.argtypes = [L, c_int, c_void_p, c_void_p, c_int64, c_void_p, c_int, c_void_p, c_int]
        lib.layered_forward_mt.restype = c_int
        lib.layered_hkk.argtypes = [L, c_int, c_void_p, c_void_p, c_void_p, c_int64, c_float, c_void_p]
        lib.layered_hkk.restype = c_int
        lib.layered_train_pass.argtypes = [L, c_int, c_void_p, c_void_p, c_void_p, c_void_p, c_void_p, c_int64,
                                           POINTER(c_double), I64]
        lib.layered_train_pass.restype = c_int
        lib.layered_train_pass_many.argtypes = [c_int, L, c_int, PP, PP, PP, PP, PP, I64, POINTER(c_double), I64,
                                                c_int]
        lib.layered_train_pass_many.restype = c_int
        lib.layered_hkk_many.argtypes = [c_int, L, c_int, PP, PP, PP, I64, c_float, PP, c_int]
        lib.layered_hkk_many.restype = c_int
        if lib.layered_sizeof_layer() != ctypes.sizeof(LayerStruct) or lib.layered_max_layers() != MAX_LAYERS:
            raise BuildError("layered kernel struct layout differs from the binding's (stale build?)")

    @property
    def numerics(self) -> int:
        return self.lib.layered_numerics()

    # -- checks ---------------------------------------------------------------------------------
    def param_count(self, net: Net) -> int:
        n = self.lib.layered_param_count(net.structs, len(net.structs))
        if n < 0:
            raise ConfigError(f"the layered kernel rejects the layer list of {net!r}")
        return n

    def _params(self, net: Net, t, name: str) -> torch.Tensor:
        _cpu(t, name, torch.float32)
        if t.shape != (net.param_count,):
            raise ValueError(f"{name} must have shape ({net.param_count},), got {tuple(t.shape)}")
        return t

    def _inputs(self, net: Net, x) -> torch.Tensor:
        _cpu(x, "x", torch.float32)
        if x.dim() < 2 or tuple(x.shape[1:]) not in (tuple(net.input_shape), (net.input_size,)):
            raise ValueError(f"x must be (N, {net.input_size}) or (N, {', '.join(map(str, net.input_shape))}), "
                             f"got {tuple(x.shape)}")
        return x

    @staticmethod
    def _indices(t, name: str, n: int) -> torch.Tensor:
        _cpu(t, name, torch.int64)
        if t.dim() != 1:
            raise ValueError(f"{name} must be 1-D, got shape {tuple(t.shape)}")
        if len(t) and (int(t.min()) < 0 or int(t.max()) >= n):
            raise ValueError(f"{name} has entries outside [0, {n})")
        return t

    def _member(self, net: Net, m: dict, train: bool) -> int:
        self._params(net, m["params"], "params")
        x = self._inputs(net, m["x"])
        if train:
            self._params(net, m["eps"], "eps")
            self._indices(m["labels"], "labels", net.n_outputs)
            if len(m["labels"]) != len(x):
                raise ValueError(f"labels has {len(m['labels'])} entries for {len(x)} patterns")
            return len(self._indices(m["order"], "order", len(x)))
        return len(self._indices(m["idx"], "idx", len(x)))

    @staticmethod
    def _rc(rc: int, net: Net) -> None:
        if rc == -1:
            raise MemoryError("layered kernel could not allocate its buffers")
        if rc:
            raise ConfigError(f"the layered kernel rejects the layer list of {net!r}")

    # -- calls ----------------------------------------------------------------------------------
    def forward(self, net: Net, params: torch.Tensor, x: torch.Tensor, features: int | str | None = None,
                threads: int | None = None):
        """(N, n_outputs) outputs; with `features` (a layer index or name) also that layer's outputs
        (N, its size), e.g. LeNet-4's 120 F5 units for a nearest-neighbour classifier."""
        self._params(net, params, "params")
        self._inputs(net, x)
        out = torch.empty(len(x), net.n_outputs)
        fl = -1 if features is None else net.layer_index(features)
        feat = torch.empty(len(x), net.placed[fl].n_out) if fl >= 0 else None
        self._rc(self.lib.layered_forward_mt(net.structs, len(net.structs), _ptr(params), _ptr(x), len(x), _ptr(out),
                                             fl, None if feat is None else _ptr(feat), threads or default_threads()),
                 net)
        return out if feat is None else (out, feat)

    def hkk(self, net: Net, params: torch.Tensor, x: torch.Tensor, idx: torch.Tensor | None = None,
            output_curvature: float = 2.0) -> torch.Tensor:
        """The Gauss-Newton diagonal (App. C, Eq. 25-27) averaged over the patterns idx (default all)."""
        self._params(net, params, "params")
        self._inputs(net, x)
        n = len(x) if idx is None else len(self._indices(idx, "idx", len(x)))
        if n == 0:
            raise ValueError("h_kk needs at least one pattern")
        h = torch.empty_like(params)
        self._rc(self.lib.layered_hkk(net.structs, len(net.structs), _ptr(params), _ptr(x),
                                      None if idx is None else _ptr(idx), n, output_curvature, _ptr(h)), net)
        return h

    def train_pass(self, net: Net, params: torch.Tensor, eps: torch.Tensor, x: torch.Tensor, labels: torch.Tensor,
                   order: torch.Tensor) -> tuple[float, int]:
        """Online SDLM steps over `order`, updating `params` in place: (loss sum, running errors)."""
        n = self._member(net, dict(params=params, eps=eps, x=x, labels=labels, order=order), train=True)
        loss, err = c_double(), c_int64()
        self._rc(self.lib.layered_train_pass(net.structs, len(net.structs), _ptr(params), _ptr(eps), _ptr(x),
                                             _ptr(labels), _ptr(order), n, ctypes.byref(loss), ctypes.byref(err)),
                 net)
        return loss.value, err.value

    def train_pass_many(self, net: Net, members: list[dict], threads: int | None = None) -> list[tuple[float, int]]:
        """K independent online passes of `net` on `threads` threads; each member is a dict of params,
        eps, x, labels, order and gets exactly the result of a solo `train_pass`."""
        K = len(members)
        counts = [self._member(net, m, train=True) for m in members]
        if len({m["params"].data_ptr() for m in members}) != K:
            raise ValueError("members must not share a params tensor (they are updated concurrently)")
        arr = lambda key: (c_void_p * K)(*[m[key].data_ptr() for m in members])
        loss, err = (c_double * K)(), (c_int64 * K)()
        self._rc(self.lib.layered_train_pass_many(K, net.structs, len(net.structs), arr("params"), arr("eps"), arr("x"),
                                                  arr("labels"), arr("order"), (c_int64 * K)(*counts), loss, err,
                                                  threads or default_threads()), net)
        return [(loss[i], err[i]) for i in range(K)]

    def hkk_many(self, net: Net, members: list[dict], output_curvature: float = 2.0,
                 threads: int | None = None) -> list[torch.Tensor]:
        """h_kk of K members (dicts of params, x, idx) on `threads` threads, each as a solo `hkk`."""
        K = len(members)
        counts = [self._member(net, m, train=False) for m in members]
        if 0 in counts:
            raise ValueError("h_kk needs at least one pattern per member")
        hs = [torch.empty_like(m["params"]) for m in members]
        arr = lambda vals: (c_void_p * K)(*[v.data_ptr() for v in vals])
        self._rc(self.lib.layered_hkk_many(K, net.structs, len(net.structs), arr([m["params"] for m in members]),
                                           arr([m["x"] for m in members]), arr([m["idx"] for m in members]),
                                           (c_int64 * K)(*counts), output_curvature, arr(hs),
                                           threads or default_threads()), net)
        return hs


@lru_cache(maxsize=1)
def load_layered_kernel() -> LayeredKernel:
    """Build (if needed) and load the layered kernel; raises BuildError when it cannot."""
    if os.environ.get("LENET_NO_FAST", "") not in ("", "0"):
        raise BuildError("disabled by LENET_NO_FAST")
    return kernel_for(None)


def kernel_for(tgt: str | None) -> LayeredKernel:
    """The layered kernel built for -march=`tgt` (None: build.target()), loaded."""
    path = build(tgt=tgt, source=LAYERED_SOURCE)
    try:
        return LayeredKernel(ctypes.CDLL(str(path)))
    except (OSError, AttributeError) as e:  # AttributeError: a symbol is missing (a foreign or stale file)
        raise BuildError(f"cannot load {path}: {e}; delete it and rebuild") from None
