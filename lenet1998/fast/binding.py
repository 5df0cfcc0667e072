"""ctypes binding of the C kernel (lenet5.c). Every call checks dtypes, shapes and contiguity,
because the C side trusts its pointers."""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import POINTER, c_double, c_float, c_int, c_int32, c_int64, c_void_p
from functools import lru_cache

import torch

from ..rbf import rbf_centers
from ..config import LeNet5Config
from ..connection_table import connections
from lenet_repro.errors import ConfigError

from .build import BuildError, build

ACT = {"scaled_tanh": 0, "sigmoid": 1, "relu": 2}
SUB = {"sum": 0, "average": 1, "avgpool": 2, "maxpool": 3}
OUT = {"rbf": 0, "linear": 1}
LOSS = {"map": 0, "mle": 1, "cross_entropy": 2, "lush-edist": 3}
CURV = {"squares": 0, "square-of-sum": 1}
MAXC3 = 96


class NetStruct(ctypes.Structure):
    _fields_ = [("act", c_int32), ("sub", c_int32), ("output", c_int32), ("loss", c_int32),
                ("rbf_trainable", c_int32), ("n_c3", c_int32), ("map_j", c_float), ("out_curv", c_float),
                ("c3_out", c_int32 * MAXC3), ("c3_in", c_int32 * MAXC3), ("n6", c_int32), ("sub_curv", c_int32)]


def net_struct(cfg: LeNet5Config) -> NetStruct:
    pairs = connections(cfg.c3_table)
    n = NetStruct(ACT[cfg.activation], SUB[cfg.subsampling], OUT[cfg.output], LOSS[cfg.loss],
                  int(cfg.rbf_trainable), len(pairs), cfg.map_j, cfg.hkk_output_curvature)
    for c, (o, i) in enumerate(pairs):
        n.c3_out[c], n.c3_in[c] = o, i
    n.n6, n.sub_curv = cfg.f6_units, CURV[cfg.subsampling_curvature]
    return n


def _f32(t: torch.Tensor, name: str) -> torch.Tensor:
    if t.dtype != torch.float32 or t.device.type != "cpu" or not t.is_contiguous():
        raise ValueError(f"{name} must be a contiguous float32 CPU tensor")
    return t


def _i64(t: torch.Tensor, name: str) -> torch.Tensor:
    if t.dtype != torch.int64 or t.device.type != "cpu" or not t.is_contiguous():
        raise ValueError(f"{name} must be a contiguous int64 CPU tensor")
    return t


def _ptr(t: torch.Tensor, offset: int = 0) -> c_void_p:
    return c_void_p(t.data_ptr() + offset * t.element_size())


class FastKernel:
    def __init__(self, lib: ctypes.CDLL):
        self.lib = lib
        N = POINTER(NetStruct)
        lib.lenet5_param_count.argtypes = [N]
        lib.lenet5_param_count.restype = c_int
        lib.lenet5_layout.argtypes = [N, POINTER(c_int32)]
        lib.lenet5_sizeof_net.restype = c_int
        lib.lenet5_forward_batch.argtypes = [N, c_void_p, c_void_p, c_void_p, c_int64, c_void_p]
        lib.lenet5_forward_batch.restype = c_int
        lib.lenet5_forward_batch_mt.argtypes = [N, c_void_p, c_void_p, c_void_p, c_int64, c_void_p, c_int]
        lib.lenet5_forward_batch_mt.restype = c_int
        lib.lenet5_gradient.argtypes = [N, c_void_p, c_void_p, c_void_p, c_int64, c_void_p]
        lib.lenet5_gradient.restype = c_float
        lib.lenet5_hkk.argtypes = [N, c_void_p, c_void_p, c_void_p, c_void_p, c_void_p, c_int64, c_void_p]
        lib.lenet5_hkk.restype = c_int
        lib.lenet5_train_pass.argtypes = [N, c_void_p, c_void_p, c_void_p, c_void_p, c_void_p, c_void_p, c_int64,
                                          POINTER(c_double), POINTER(c_int64)]
        lib.lenet5_train_pass.restype = c_int
        PP = POINTER(c_void_p)
        lib.lenet5_train_pass_many.argtypes = [c_int, N, PP, PP, PP, PP, PP, PP, POINTER(c_int64),
                                               POINTER(c_double), POINTER(c_int64), c_int]
        lib.lenet5_train_pass_many.restype = c_int
        lib.lenet5_hkk_many.argtypes = [c_int, N, PP, PP, PP, PP, PP, POINTER(c_int64), PP, c_int]
        lib.lenet5_hkk_many.restype = c_int
        lib.lenet5_warp.argtypes = [c_void_p, c_void_p, c_int64, c_int, c_void_p, c_int]
        lib.lenet5_warp.restype = None
        lib.lenet5_exp.argtypes = lib.lenet5_log.argtypes = [c_float]
        lib.lenet5_exp.restype = lib.lenet5_log.restype = c_float
        lib.lenet5_numerics.restype = c_int
        if lib.lenet5_sizeof_net() != ctypes.sizeof(NetStruct):
            raise BuildError("kernel struct layout differs from the binding's (stale build?)")
        self._centers: dict[tuple, torch.Tensor] = {}

    # -- helpers --------------------------------------------------------------------------------
    def param_count(self, cfg: LeNet5Config) -> int:
        return self.lib.lenet5_param_count(ctypes.byref(net_struct(cfg)))

    def layout(self, cfg: LeNet5Config) -> list[int]:
        out = (c_int32 * 15)()
        self.lib.lenet5_layout(ctypes.byref(net_struct(cfg)), out)
        return list(out)

    def _centers_ptr(self, cfg: LeNet5Config, params: torch.Tensor) -> c_void_p:
        if cfg.output == "rbf" and cfg.rbf_trainable:
            return _ptr(params, self.layout(cfg)[12])  # the centers live inside the parameters
        key = (cfg.rbf_codes, cfg.rbf_min_distance, cfg.rbf_code_seed)
        if key not in self._centers:  # kept alive here: the kernel reads them through a raw pointer
            self._centers[key] = rbf_centers(cfg).float().contiguous()
        return _ptr(self._centers[key])

    def _check(self, cfg, params, images=None, labels=None):
        _f32(params, "params")
        if params.numel() != self.param_count(cfg):
            raise ValueError(f"params has {params.numel()} entries, the kernel expects {self.param_count(cfg)}")
        if images is not None:
            _f32(images, "images")
            if images.shape[-2:] != (32, 32):
                raise ValueError("images must be (N, 1, 32, 32)")
        if labels is not None:
            _i64(labels, "labels")

    # -- calls ----------------------------------------------------------------------------------
    def forward(self, cfg: LeNet5Config, params: torch.Tensor, images: torch.Tensor,
                threads: int | None = None) -> torch.Tensor:
        """(N, 10) RBF penalties (or logits), on `threads` threads."""
        self._check(cfg, params, images)
        out = torch.empty(len(images), 10)
        rc = self.lib.lenet5_forward_batch_mt(ctypes.byref(net_struct(cfg)), _ptr(params),
                                              self._centers_ptr(cfg, params), _ptr(images), len(images), _ptr(out),
                                              threads or default_threads())
        if rc:
            raise MemoryError("lenet5 kernel could not allocate its buffers")
        return out

    def gradient(self, cfg, params, image, label: int) -> tuple[float, torch.Tensor]:
        self._check(cfg, params, image)
        grad = torch.empty_like(params)
        loss = self.lib.lenet5_gradient(ctypes.byref(net_struct(cfg)), _ptr(params), self._centers_ptr(cfg, params),
                                        _ptr(image), int(label), _ptr(grad))
        return float(loss), grad

    def hkk(self, cfg, params, images, labels, idx: torch.Tensor | None = None) -> torch.Tensor:
        self._check(cfg, params, images, labels)
        n = len(images) if idx is None else len(_i64(idx, "idx"))
        h = torch.empty_like(params)
        rc = self.lib.lenet5_hkk(ctypes.byref(net_struct(cfg)), _ptr(params), self._centers_ptr(cfg, params),
                                 _ptr(images), _ptr(labels), None if idx is None else _ptr(idx), n, _ptr(h))
        if rc:
            raise MemoryError("lenet5 kernel could not allocate its buffers")
        return h

    def train_pass(self, cfg, params, eps, images, labels, order: torch.Tensor) -> tuple[float, int]:
        """Online SDLM steps over `order`, updating `params` in place. Returns (loss sum, errors)."""
        self._check(cfg, params, images, labels)
        _f32(eps, "eps")
        _i64(order, "order")
        loss, err = c_double(), c_int64()
        rc = self.lib.lenet5_train_pass(ctypes.byref(net_struct(cfg)), _ptr(params), _ptr(eps),
                                        self._centers_ptr(cfg, params), _ptr(images), _ptr(labels), _ptr(order),
                                        len(order), ctypes.byref(loss), ctypes.byref(err))
        if rc:
            raise MemoryError("lenet5 kernel could not allocate its buffers")
        return loss.value, err.value

    def train_pass_many(self, members: list[dict], threads: int | None = None) -> list[tuple[float, int]]:
        """Lockstep: K independent online passes on `threads` threads. Each member is a dict with
        cfg, params, eps, images, labels, order; its result equals a solo `train_pass`."""
        K = len(members)
        nets = (NetStruct * K)(*[net_struct(m["cfg"]) for m in members])
        arr = lambda vals: (c_void_p * K)(*vals)  # noqa: E731
        for m in members:
            self._check(m["cfg"], m["params"], m["images"], m["labels"])
            _f32(m["eps"], "eps")
            _i64(m["order"], "order")
        P = arr([m["params"].data_ptr() for m in members])
        E = arr([m["eps"].data_ptr() for m in members])
        C = arr([self._centers_ptr(m["cfg"], m["params"]).value for m in members])
        X = arr([m["images"].data_ptr() for m in members])
        Y = arr([m["labels"].data_ptr() for m in members])
        O = arr([m["order"].data_ptr() for m in members])
        n = (c_int64 * K)(*[len(m["order"]) for m in members])
        loss, err = (c_double * K)(), (c_int64 * K)()
        rc = self.lib.lenet5_train_pass_many(K, nets, P, E, C, X, Y, O, n, loss, err, threads or default_threads())
        if rc:
            raise MemoryError("lenet5 kernel could not allocate its buffers")
        return [(loss[i], err[i]) for i in range(K)]

    def hkk_many(self, members: list[dict], threads: int | None = None) -> list[torch.Tensor]:
        K = len(members)
        nets = (NetStruct * K)(*[net_struct(m["cfg"]) for m in members])
        arr = lambda vals: (c_void_p * K)(*vals)  # noqa: E731
        hs = [torch.empty_like(m["params"]) for m in members]
        for m in members:
            self._check(m["cfg"], m["params"], m["images"], m["labels"])
            _i64(m["idx"], "idx")
        rc = self.lib.lenet5_hkk_many(
            K, nets, arr([m["params"].data_ptr() for m in members]),
            arr([self._centers_ptr(m["cfg"], m["params"]).value for m in members]),
            arr([m["images"].data_ptr() for m in members]), arr([m["labels"].data_ptr() for m in members]),
            arr([m["idx"].data_ptr() for m in members]), (c_int64 * K)(*[len(m["idx"]) for m in members]),
            arr([h.data_ptr() for h in hs]), threads or default_threads())
        if rc:
            raise MemoryError("lenet5 kernel could not allocate its buffers")
        return hs


    def warp(self, images01: torch.Tensor, params: torch.Tensor, threads: int | None = None) -> torch.Tensor:
        """The distortion warp (`lenet1998.distortions.warp_reference`, same bits): (M, n, n) float32 [0, 1]
        images, (M, 5) float64 parameters -> (M, n, n) float32."""
        _f32(images01, "images01")
        if params.dtype != torch.float64 or not params.is_contiguous() or params.shape != (len(images01), 5):
            raise ValueError("params must be a contiguous float64 (M, 5) CPU tensor")
        if images01.dim() != 3 or images01.shape[1] != images01.shape[2]:
            raise ValueError("images01 must be (M, n, n)")
        out = torch.empty_like(images01)
        self.lib.lenet5_warp(_ptr(images01), _ptr(params), len(images01), images01.shape[1], _ptr(out),
                             threads or default_threads())
        return out


def default_threads() -> int:
    """$LENET_THREADS (a positive integer), else every core."""
    env = os.environ.get("LENET_THREADS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ConfigError(f"LENET_THREADS={env!r} is not a positive integer; set it to the number of "
                              f"threads the kernel may use (e.g. 2), or unset it to use every core")
        return int(env)
    return os.cpu_count() or 1


@lru_cache(maxsize=1)
def load_kernel() -> FastKernel:
    """Build (if needed) and load the kernel; raises BuildError when it cannot."""
    if os.environ.get("LENET_NO_FAST", "") not in ("", "0"):
        raise BuildError("disabled by LENET_NO_FAST")
    path = build()
    try:
        return FastKernel(ctypes.CDLL(str(path)))
    except (OSError, AttributeError) as e:  # AttributeError: a symbol is missing (a foreign or stale file)
        raise BuildError(f"cannot load {path}: {e}; delete it and run `python -m lenet1998.fast`") from None


_notice_given = False


def fast_available(notice: bool = True) -> bool:
    """True when the kernel loads; otherwise print one notice (once) and return False."""
    global _notice_given
    try:
        load_kernel()
        return True
    except BuildError as e:
        if notice and not _notice_given:
            print(f"lenet1998: fast path unavailable ({e}); using the reference path (about 10-20x slower)",
                  file=sys.stderr)
            _notice_given = True
        return False
