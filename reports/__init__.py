"""The report generator (`lenet report`), the regression-check API (`reports.check`) and the
`lenet` command itself (`reports.cli`).

It trains the textbook recipes and the faithful 1998 network on CPU or GPU, caches every run as a
record with provenance, and writes REPORT.md, results.csv and figures comparing them with the
book's and the paper's numbers. It imports the model packages; they never import it.
"""

from .check import Verdict, check
from .testing import assert_consistent

__all__ = ["Verdict", "assert_consistent", "check"]
