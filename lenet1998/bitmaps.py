"""The fixed RBF prototypes: stylised 7x12 bitmaps of the ten digits (Sec. II-B, Fig. 3).

"The components of those parameters vectors were set to -1 or +1 ... they were chosen to form a
stylized image of the corresponding character class drawn on a 7x12 bitmap (hence the number 84)."
No machine-readable copy of Fig. 3 exists, so these were drawn by hand in its spirit: thin strokes
in a 7-wide, 12-high cell with the glyph in rows 1-10, '#' = +1 (ink), '.' = -1 (background).
They are kept readable on purpose; `tests/test_lenet1998_layers.py` checks the shapes and the
pairwise separation (`min_hamming_distance()`).
"""

from __future__ import annotations

import itertools

import torch

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


def bitmap(digit: int) -> torch.Tensor:
    """(12, 7) tensor of +1 (ink) / -1 (background)."""
    rows = DIGITS[digit]
    return torch.tensor([[1.0 if ch == "#" else -1.0 for ch in row] for row in rows])


def prototypes() -> torch.Tensor:
    """(10, 84): the RBF parameter vectors w_i, row-major 7x12 bitmaps."""
    return torch.stack([bitmap(d).flatten() for d in range(10)])


def hamming_distances() -> dict[tuple[int, int], int]:
    p = prototypes()
    return {(a, b): int((p[a] != p[b]).sum()) for a, b in itertools.combinations(range(10), 2)}


def min_hamming_distance() -> tuple[int, tuple[int, int]]:
    """The smallest number of differing pixels between two prototypes, and which pair."""
    d = hamming_distances()
    pair = min(d, key=d.get)
    return d[pair], pair
