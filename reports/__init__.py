"""The report generator (`lenet report`), the regression-check API (`reports.stats.check`) and the
`lenet` command itself (`reports.cli`).

It trains the textbook recipes and the faithful 1998 network on CPU or GPU, caches every run as a
record with provenance, and writes REPORT.md, results.csv and figures comparing them with the
book's and the paper's numbers. It imports the model packages; they never import it.

Layout (issue 20), each part importing only what its role allows (tests/test_layers.py): verdicts/ nothing
else of the report, stats/ only verdicts/ (and run/'s Outcome type), run/ only what each group runs
(sections/ablations.py, comparison.py); sections/ read the records through run/'s Outcome and read-only
cache and draw in render/'s one style, never training anything, never writing a file but a figure:
- verdicts/: THE rules (failed runs, intervals, changes, the published numbers), written once;
- stats/: what the records say beyond one verdict: `lenet check` (check.py), the held-out choices of the
  open readings (selection.py), our rows as references (own_references.py), a row's runs (rowruns.py);
- run/: running: the profiles' plans (plan.py), the cache and the runner (runner.py), the local and Ray
  engines (engines.py), the time estimates (estimate.py);
- sections/: one file per table or figure of the report, each building its frame (and a figure's drawing) from
  the records: results.py (results.csv), table1.py, textbook_curves.py, table2.py, learning_curves.py,
  misses.py, readings.py, sweeps.py, distortions.py, fig9.py, fig10_12.py, holdout.py, budget.py, fig6.py,
  open_choices.py, table3.py, gap.py, waterfall.py, questions.py, xavier.py, speed.py, rbf_bitmaps.py,
  activations.py (common.py: what they share); and what the study groups run: ablations.py (Table 3) and
  comparison.py (Figs. 9-12), which run/ reads;
- render/: the artefact registry that `lenet report`, `--artefact` and `lenet compare` share
  (artefacts.py: it writes the files, computes nothing), the figures' one style (figures.py), LaTeX
  (latex.py), the README's blocks (readme.py); none of it trains anything;
- the commands: `lenet report` (report.py: runs the plan, writes REPORT.md and every artefact), `lenet
  compare` (compare.py), `lenet` itself (cli.py), the shipped checkpoint (ship.py), the pytest helper
  (testing.py).
"""

from .stats.check import Verdict, check
from .testing import assert_consistent

__all__ = ["Verdict", "assert_consistent", "check"]
