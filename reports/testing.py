"""A pytest helper for users' regression tests against published numbers.

    from reports.testing import assert_consistent

    def test_my_lenet5_matches_the_paper():
        assert_consistent("runs/lenet5-1998-s0/result.json", "paper-lenet5")
"""

from __future__ import annotations

from .stats.check import Verdict, check


def assert_consistent(result, reference_id: str | None = None, allow_better: bool = False,
                      references=None) -> Verdict:
    """AssertionError unless `result` is consistent with the reference: a published number, or
    "ours:<experiment id>", a row of our own recorded distributions (e.g. "ours:faithful/lenet5-1998")."""
    v = check(result, reference_id, references)
    if not (v.consistent or (allow_better and v.better)):
        raise AssertionError(str(v))
    return v
