"""The fixed RBF prototypes: stylised 7x12 bitmaps of the ten digits (Sec. II-B, Fig. 3).

"The components of those parameters vectors were set to -1 or +1 ... they were chosen to form a
stylized image of the corresponding character class drawn on a 7x12 bitmap (hence the number 84)."
No machine-readable copy of Fig. 3 exists, so these were drawn by hand in its spirit: thin strokes
in a 7-wide, 12-high cell with the glyph in rows 1-10, '#' = +1 (ink), '.' = -1 (background).
They are kept readable on purpose; `tests/test_lenet1998_layers.py` checks the shapes and the
pairwise separation (`min_hamming_distance()`).

Three kinds of code, `prototypes(kind=...)`:
  "ours"    `DIGITS` below (the default; trained checkpoints depend on it, bit for bit).
  "public"  `lenet1998.bitmaps_public.PUBLIC_DIGITS`, a third-party hand transcription of Fig. 3
            (mattwang44/LeNet-from-Scratch, utils/RBF_initial_weight.py; see that module).
  "random"  ten random +1/-1 codes of length 84 at a chosen minimum pairwise Hamming distance,
            drawn reproducibly from a seed (`random_codes`).
F6 is fully connected to the RBF layer, so a permutation of the 84 components changes nothing the
network can learn; only the code geometry matters (`code_geometry`). Measured (tests/test_bitmaps.py):
ours 12/25/35 min/median/max Hamming distance, public 12/30/50.
"""

from __future__ import annotations

import itertools
import statistics

import torch

from lenet_repro.errors import ConfigError

from .bitmaps_public import PUBLIC_DIGITS

DIGITS: dict[int, tuple[str, ...]] = {
    0: (".......",
        "..###..",
        ".#...#.",
        "#.....#",
        "#.....#",
        "#.....#",
        "#.....#",
        "#.....#",
        "#.....#",
        ".#...#.",
        "..###..",
        "......."),
    1: (".......",
        "...#...",
        "..##...",
        ".#.#...",
        "...#...",
        "...#...",
        "...#...",
        "...#...",
        "...#...",
        "...#...",
        ".#####.",
        "......."),
    2: (".......",
        ".#####.",
        "#.....#",
        "......#",
        "......#",
        ".....#.",
        "....#..",
        "...#...",
        "..#....",
        ".#.....",
        "#######",
        "......."),
    3: (".......",
        ".#####.",
        "#.....#",
        "......#",
        "......#",
        "...###.",
        "......#",
        "......#",
        "......#",
        "#.....#",
        ".#####.",
        "......."),
    4: (".......",
        "....#..",
        "...##..",
        "..#.#..",
        ".#..#..",
        "#...#..",
        "#######",
        "....#..",
        "....#..",
        "....#..",
        "....#..",
        "......."),
    5: (".......",
        "#######",
        "#......",
        "#......",
        "#.###..",
        "##...#.",
        "......#",
        "......#",
        "......#",
        "#....#.",
        ".####..",
        "......."),
    6: (".......",
        "...##..",
        "..#....",
        ".#.....",
        "#......",
        "#.###..",
        "##...#.",
        "#.....#",
        "#.....#",
        ".#...#.",
        "..###..",
        "......."),
    7: (".......",
        "#######",
        "......#",
        ".....#.",
        ".....#.",
        "....#..",
        "....#..",
        "...#...",
        "...#...",
        "..#....",
        "..#....",
        "......."),
    8: (".......",
        "..###..",
        ".#...#.",
        "#.....#",
        ".#...#.",
        "..###..",
        ".#...#.",
        "#.....#",
        "#.....#",
        ".#...#.",
        "..###..",
        "......."),
    9: (".......",
        ".#####.",
        "#.....#",
        "#.....#",
        "#.....#",
        "#.....#",
        ".######",
        "......#",
        ".....#.",
        "....#..",
        "###....",
        "......."),
}

WIDTH, HEIGHT = 7, 12
CODE_LENGTH = WIDTH * HEIGHT  # 84
KINDS = ("ours", "public", "random", "place")
DEFAULT_MIN_DISTANCE = 12  # the minimum pairwise Hamming distance of our set (and of the public one)
MAX_DRAWS = 100_000  # candidate codes drawn before `random_codes` gives up

_TABLES = {"ours": DIGITS, "public": PUBLIC_DIGITS}


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ConfigError(f"unknown RBF prototype kind {kind!r}; use {', '.join(KINDS)}")


def bitmap(digit: int, kind: str = "ours", dtype: torch.dtype | None = None) -> torch.Tensor:
    """(12, 7) tensor of +1 (ink) / -1 (background) for a drawn kind ("ours" or "public")."""
    _check_kind(kind)
    if kind not in _TABLES:
        raise ConfigError(f"RBF prototype kind {kind!r} is not a drawing; bitmap() takes {', '.join(_TABLES)}")
    rows = _TABLES[kind][digit]
    return torch.tensor([[1.0 if ch == "#" else -1.0 for ch in row] for row in rows], dtype=dtype)


def random_codes(min_distance: int = DEFAULT_MIN_DISTANCE, seed: int = 0,
                 dtype: torch.dtype | None = None) -> torch.Tensor:
    """(10, 84) random +1/-1 codes, every pair at Hamming distance >= min_distance.

    Sequential rejection sampling from `torch.Generator().manual_seed(seed)`: candidates are drawn
    one at a time, each component +1 or -1 with probability 1/2 (`torch.randint(0, 2, (84,))`), and
    a candidate is kept iff it is at least `min_distance` from every code kept so far; the k-th kept
    code is digit k's. The same (min_distance, seed) always gives the same codes, on any machine.
    Two independent codes differ in 42 +- 4.6 places, so the default 12 never rejects; large minima
    reject more and more, and past `MAX_DRAWS` candidates a ConfigError says so (ten codes of
    length 84 cannot be more than 46 apart at all, by the Plotkin bound).
    """
    if isinstance(min_distance, bool) or not isinstance(min_distance, int) or not 1 <= min_distance <= CODE_LENGTH:
        raise ConfigError(f"the RBF codes' minimum Hamming distance must be an integer in 1..{CODE_LENGTH}, "
                          f"got {min_distance!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"the RBF codes' seed must be a non-negative integer, got {seed!r}")
    g = torch.Generator().manual_seed(seed)
    kept: list[torch.Tensor] = []
    for _ in range(MAX_DRAWS):
        c = torch.randint(0, 2, (CODE_LENGTH,), generator=g, dtype=torch.int64)
        if all(int((c != k).sum()) >= min_distance for k in kept):
            kept.append(c)
            if len(kept) == 10:
                return (torch.stack(kept) * 2 - 1).to(dtype or torch.get_default_dtype())
    raise ConfigError(f"no 10 random codes at Hamming distance >= {min_distance} found in {MAX_DRAWS} draws "
                      f"(seed {seed}); use a smaller minimum distance")


def place_code(dtype: torch.dtype | None = None) -> torch.Tensor:
    """(10, 10): the 1-of-N "place code" of Sec. II-B, +1 for the class and -1 elsewhere -- the fixed
    targets of Lush's LeNet-5 demo (`targets` in gblearn2/demos/lenet5.lsh), whose 10 squashed output
    units are then an F6 of 10 units whose RBF penalties are the demo's squared distances to its
    targets (the argmin penalty is the argmax output)."""
    return (torch.eye(10) * 2 - 1).to(dtype or torch.get_default_dtype())


def prototypes(kind: str = "ours", min_distance: int | None = None, seed: int = 0,
               dtype: torch.dtype | None = None) -> torch.Tensor:
    """(10, 84): the RBF parameter vectors w_i, +1/-1, row-major 7x12 bitmaps for the drawn kinds.

    kind: "ours" (default), "public", "random" or "place" ((10, 10): needs F6 of 10 units). min_distance (default 12) and seed (default 0)
    choose the random codes and are an error with the drawn kinds (min_distance) or ignored (seed).
    dtype: the default dtype unless given (float32 normally), as `prototypes()` always returned.
    """
    _check_kind(kind)
    if kind == "random":
        return random_codes(DEFAULT_MIN_DISTANCE if min_distance is None else min_distance, seed, dtype)
    if kind == "place":
        if min_distance is not None:
            raise ConfigError("min_distance applies to the random RBF codes only, not to the place code")
        return place_code(dtype)
    if min_distance is not None:
        raise ConfigError(f"min_distance applies to the random RBF codes only, not to kind {kind!r}")
    return torch.stack([bitmap(d, kind, dtype).flatten() for d in range(10)])


def code_geometry(codes: torch.Tensor) -> dict:
    """Pairwise Hamming distances of a set of codes (one per row): min, median, max and the closest pair.

    Returns {"min": int, "median": int | float, "max": int, "min_pair": (a, b), "min_pairs": [...],
    "distances": {(a, b): int}}, pairs as row indices a < b (the digits for a (10, 84) set); min_pair
    is the first closest pair in (a, b) order, min_pairs all of them.
    """
    if not isinstance(codes, torch.Tensor) or codes.dim() != 2 or codes.shape[0] < 2:
        raise ConfigError(f"codes must be a 2-D tensor with one code per row and at least 2 rows, got "
                          f"{tuple(codes.shape) if isinstance(codes, torch.Tensor) else type(codes).__name__}")
    d = {(a, b): int((codes[a] != codes[b]).sum()) for a, b in itertools.combinations(range(codes.shape[0]), 2)}
    lo = min(d.values())
    pairs = [p for p, v in d.items() if v == lo]
    return {"min": lo, "median": statistics.median(d.values()), "max": max(d.values()),
            "min_pair": pairs[0], "min_pairs": pairs, "distances": d}


def hamming_distances(codes: torch.Tensor | None = None) -> dict[tuple[int, int], int]:
    """{(a, b): differing components} for every pair of prototypes (ours unless codes are given)."""
    return code_geometry(prototypes() if codes is None else codes)["distances"]


def min_hamming_distance(codes: torch.Tensor | None = None) -> tuple[int, tuple[int, int]]:
    """The smallest number of differing pixels between two prototypes, and which pair."""
    g = code_geometry(prototypes() if codes is None else codes)
    return g["min"], g["min_pair"]
