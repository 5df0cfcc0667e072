"""The report generator (`lenet report`), the regression-check API (`reports.stats.check`) and the
`lenet` command itself (`reports.cli`).

It trains the textbook recipes and the faithful 1998 network on CPU or GPU, caches every run as a
record with provenance, and writes REPORT.md, results.csv and figures comparing them with the
book's and the paper's numbers. It imports the model packages; they never import it.

Layout (issue 20); verdicts/ and stats/ import no other part, run/ reads what each group runs from
sections/ (ablations.py, comparison.py), and sections/ and render/ read the records through run/'s
Outcome and read-only cache, never training anything:
- verdicts/: THE rules (failed runs, intervals, changes, the published numbers), written once;
- stats/: what the records say beyond one verdict: `lenet check` (check.py), the held-out choices of the
  open readings (selection.py), our rows as references (own_references.py), a row's runs (rowruns.py);
- run/: running: the profiles' plans (plan.py), the cache and the runner (runner.py), the local and Ray
  engines (engines.py), the time estimates (estimate.py);
- sections/: one per part of the report, each building its frames from the records: Table 2 and the
  readings (tables.py), Table 3 (ablations.py, ablation_report.py), Fig. 6 (fig6.py), Figs. 9-12
  (comparison.py, comparison_report.py);
- render/: the artefact registry that `lenet report`, `--artefact` and `lenet compare` share
  (artefacts.py), the figures' style (figures.py), LaTeX (latex.py), the README's blocks (readme.py);
- the commands: `lenet report` (report.py: runs the plan, writes REPORT.md and every artefact), `lenet
  compare` (compare.py), `lenet` itself (cli.py), the shipped checkpoint (ship.py), the pytest helper
  (testing.py).
"""

from .stats.check import Verdict, check
from .testing import assert_consistent

__all__ = ["Verdict", "assert_consistent", "check"]
