"""Every knob of the 1998 reproduction, with its default and the reason for it.

Each field that the paper fixes says where; each field the paper leaves open is marked
ASSUMED and has a row in the fidelity ledger (`lenet1998/ledger.csv`, rendered in the README).
Ablation values (the "modern" direction) are listed beside each default.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

from lenet_repro.errors import ConfigError

# Global learning rate per pass (App. C / Sec. III-B): 0.0005 for passes 1-2, 0.0002 for 3-5,
# 0.0001 for 6-8, 0.00005 for 9-12, 0.00001 after.
PAPER_SCHEDULE = (0.0005,) * 2 + (0.0002,) * 3 + (0.0001,) * 3 + (0.00005,) * 4 + (0.00001,) * 8


DISTORTION_SETTINGS = ("distortion_copies", "translate_px", "scale_range", "squeeze_range", "shear_range")


@dataclass(frozen=True)
class LeNet5Config:
    # ---- network (Sec. II-B, Fig. 2, Table I) --------------------------------------------------
    activation: str = "scaled_tanh"  # f(a) = 1.7159 tanh(2a/3) (Sec. II-B, App. A); ablation: sigmoid, relu
    subsampling: str = "average"  # ASSUMED: Sec. II-A "local averaging" (x trainable coef + bias, squashed);
    #                               Sec. II-B says the 4 inputs are "added" ("sum" saturates C3/C5 and
    #                               destabilises SDLM: report, "Open choices"); ablation: avgpool, maxpool
    c3_table: str = "paper"  # Table I (60 kernels); ablation: dense (every C3 map reads all 6 S2 maps)
    output: str = "rbf"  # 10 Euclidean RBF units on the 7x12 bitmaps; ablation: linear (+ cross_entropy)
    rbf_trainable: bool = False  # "fixed ... (at least initially)" (Sec. II-B)
    loss: str = "map"  # Eq. 9 (MAP); "mle" = Eq. 8; "cross_entropy" with output="linear"
    map_j: float = 10.0  # ASSUMED: Eq. 9's positive constant j is not given; chosen by the j sweep
    #                      (README "Choosing j"); 0.1 is folklore, not the paper's
    # ---- initialisation (App. A) ---------------------------------------------------------------
    init: str = "lecun-sqrt"  # DEVIATES: U(-2.4/sqrt(F_i), ..); App. A's literal U(-2.4/F_i, 2.4/F_i)
    #                           ("lecun") shrinks the weighted sums layer after layer and online SDLM
    #                           diverges (report, "Open choices"); sqrt keeps them in the sigmoid's
    #                           operating range, App. A's stated rationale; ablation: xavier
    bias_init: str = "lecun"  # ASSUMED: not stated; biases drawn like the unit's weights ("zero" is the option)
    subsampling_coef_init: float | None = None  # ASSUMED: None = drawn like a weight of fan-in 4;
    #                                             a number = that constant for every map
    # ---- input (Sec. III-A) ---------------------------------------------------------------------
    input_scaling: str = "paper"  # 28x28 padded to 32x32, background -0.1, ink 1.175; ablation: unit ([0, 1])
    # ---- training (App. C) ---------------------------------------------------------------------
    optimizer: str = "sdlm"  # stochastic diagonal Levenberg-Marquardt; ablation: sgd (online, plain),
    #                          minibatch-sgd
    passes: int = 20  # "20 passes through the training set"
    schedule: tuple[float, ...] = PAPER_SCHEDULE  # eta per pass; the last value repeats
    mu: float = 0.02  # App. C: eps_k = eta / (mu + h_kk)
    hkk_patterns: int = 500  # App. C: h_kk re-estimated on 500 patterns before each pass
    hkk_sampling: str = "random"  # ASSUMED: "random" (fresh 500 each pass) or "consecutive" (first 500 of the order)
    hkk_output_curvature: float = 2.0  # ASSUMED: d2E/dx^2 at F6 = Gauss-Newton of y_D = sum (x-w)^2
    sgd_rate_scale: float = 2.0  # ablation only: plain online SGD rate = scale x eta (pass 1: 0.001); the
    #                              largest of {1, 2, 5} x eta that was stable in a 2-pass probe
    minibatch_size: int = 32  # ablation only (optimizer="minibatch-sgd"): batch size
    minibatch_lr: float = 0.01  # ablation only: minibatch-SGD rate at pass 1, same schedule shape; the largest
    #                             of {0.005, 0.01, 0.02} that did not diverge in a 2-pass probe
    # ---- distortions (Sec. III-C) ---------------------------------------------------------------
    distortions: bool = False  # 60,000 originals + 540,000 affine-distorted copies
    distortion_copies: int = 9  # 9 x 60,000 = 540,000 (Sec. III-C)
    # The four ranges are ASSUMED (not in the paper): factor 0.5 of the report's distortion sweep
    # (+-2 px, +-10 %, +-10 %, +-0.15 scaled by 0, 0.25, 0.5, 1, 1.5), the lowest held-out error.
    translate_px: float = 1.0  # horizontal/vertical shift U(-t, t) pixels
    scale_range: float = 0.05  # isotropic scaling factor U(1 - s, 1 + s)
    squeeze_range: float = 0.05  # x *= (1 - q), y *= (1 + q), q ~ U(-r, r)
    shear_range: float = 0.075  # horizontal shear x += h * y, h ~ U(-r, r)

    def __post_init__(self):
        self.validated()  # every instance is a valid config, however it was made

    def to_dict(self) -> dict:
        d = asdict(self)
        d["schedule"] = list(self.schedule)
        return d

    def effective_dict(self) -> dict:
        """`to_dict` without the options that have no effect in this config (the distortion settings of
        a run without distortions): the cache key of the report's runs, so that changing such a default
        does not invalidate runs it cannot have changed."""
        d = self.to_dict()
        if not self.distortions:
            for k in DISTORTION_SETTINGS:
                d.pop(k)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "LeNet5Config":
        if not isinstance(d, dict):
            raise ConfigError(f"a LeNet-5 config must be a mapping of option names to values, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown LeNet-5 config keys {sorted(unknown)}; known: {sorted(known)}")
        d = dict(d)
        if "schedule" in d:
            d["schedule"] = tuple(d["schedule"])
        return cls(**d).validated()

    def replace(self, **kw) -> "LeNet5Config":
        return replace(self, **kw).validated()

    def rate(self, pass_index: int) -> float:
        """Global rate eta for pass `pass_index` (0-based)."""
        return self.schedule[min(pass_index, len(self.schedule) - 1)]

    def validated(self) -> "LeNet5Config":
        """ConfigError (one line, naming the field, its flag and the allowed values) for any bad value.

        Types are checked strictly (a checkpoint's config or a CLI value of the wrong type is refused,
        never coerced), numbers must be finite, and each range is the one the recipe can run with."""
        def flag(key):
            return f"{key} (--{key.replace('_', '-')})"

        def is_num(v):
            return isinstance(v, (int, float)) and not isinstance(v, bool)

        for f in fields(self):
            v, t = getattr(self, f.name), str(f.type)
            if t == "bool" and not isinstance(v, bool):
                raise ConfigError(f"{flag(f.name)} must be true or false, got {v!r}")
            if t == "int" and (isinstance(v, bool) or not isinstance(v, int)):
                raise ConfigError(f"{flag(f.name)} must be an integer, got {v!r}")
            if t == "float" and not (is_num(v) and math.isfinite(v)):
                raise ConfigError(f"{flag(f.name)} must be a finite number, got {v!r}")
            if t == "float | None" and v is not None and not (is_num(v) and math.isfinite(v)):
                raise ConfigError(f"{flag(f.name)} must be a finite number (or unset), got {v!r}")
            if t == "str" and not isinstance(v, str):
                raise ConfigError(f"{flag(f.name)} must be a string, got {v!r}")
        choices = {
            "activation": ("scaled_tanh", "sigmoid", "relu"),
            "subsampling": ("sum", "average", "avgpool", "maxpool"),
            "c3_table": ("paper", "dense"),
            "output": ("rbf", "linear"),
            "loss": ("map", "mle", "cross_entropy"),
            "init": ("lecun", "lecun-sqrt", "xavier"),
            "bias_init": ("lecun", "zero"),
            "input_scaling": ("paper", "unit"),
            "optimizer": ("sdlm", "sgd", "minibatch-sgd"),
            "hkk_sampling": ("random", "consecutive"),
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ConfigError(f"{key}={getattr(self, key)!r} is not one of {', '.join(allowed)}")
        if (self.output == "linear") != (self.loss == "cross_entropy"):
            raise ConfigError(f"output={self.output!r} needs loss="
                              f"{'cross_entropy' if self.output == 'linear' else 'map or mle'}, got {self.loss!r}")
        if self.output == "linear" and self.rbf_trainable:
            raise ConfigError("rbf_trainable applies to output='rbf' only")
        if self.passes < 1:
            raise ConfigError(f"passes must be a positive integer, got {self.passes}")
        if (not isinstance(self.schedule, (tuple, list)) or not self.schedule
                or any(not (is_num(r) and math.isfinite(r) and r > 0) for r in self.schedule)):
            raise ConfigError(f"schedule (--schedule) must be a non-empty list of positive finite rates, "
                              f"got {self.schedule!r}")
        if not self.map_j > 0:
            raise ConfigError(f"map_j must be positive (Eq. 9), got {self.map_j}")
        if not self.mu > 0:
            raise ConfigError(f"mu must be positive, got {self.mu}")
        if self.hkk_patterns < 1:
            raise ConfigError(f"hkk_patterns must be >= 1, got {self.hkk_patterns}")
        if not self.hkk_output_curvature > 0:
            raise ConfigError(f"{flag('hkk_output_curvature')} must be positive (a curvature: 2 for the "
                              f"Gauss-Newton of y_D), got {self.hkk_output_curvature}")
        if self.distortion_copies < 0 or min(self.translate_px, self.scale_range, self.squeeze_range,
                                             self.shear_range) < 0:
            raise ConfigError("distortion ranges and copies must be non-negative")
        if self.scale_range >= 1 or self.squeeze_range >= 1:
            raise ConfigError("scale_range and squeeze_range must be below 1")
        if self.minibatch_size < 1 or not self.minibatch_lr > 0 or not self.sgd_rate_scale > 0:
            raise ConfigError("minibatch_size, minibatch_lr and sgd_rate_scale must be positive")
        return self


FAITHFUL = LeNet5Config()
