"""`lenet report`: train both models per the plan, then write REPORT.md, results.csv and figures.

    lenet report [--profile smoke|quick|full] [--device auto|cpu|cuda] [--seeds N] [--only PATTERN]
                 [--jobs N] [--out DIR] [--data-root DIR] [--retries N]
                 [--engine local|ray [--address HOST:PORT]] [--estimate --workers N [N ...]]

Finished runs are cached under `<out>/runs/`; re-running skips them and an interrupted report
resumes (faithful runs from their last finished pass). Every number in the output is computed
from the run records in `<out>/runs/`; nothing is typed by hand.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from lenet_repro import atomic, provenance
from lenet_repro.cli_util import run_cli
from lenet_repro.device import AUTO_HELP, DEVICE_CHOICES, cpu_model, resolve_device
from lenet_repro.errors import ConfigError
from lenet_repro.lock import dir_lock

from . import verdicts
from .run.plan import BASELINE, PROFILES, build_plan, get_profile, sweep_default_id
from .run.engines import ENGINES, TASK_CPUS
from .run.runner import Outcome, run_plan


def _md(df: pd.DataFrame) -> str:
    if df is None or df.empty:
        return "_no runs in this profile_\n"
    return df.to_markdown(index=False, disable_numparse=True) + "\n"


def _input_statistics(data_root=None) -> str:
    """Mean and variance of the paper-scaled 32x32 training inputs (Sec. II-B claims about 0 and 1)."""
    from lenet1998.data import load_mnist

    x = load_mnist(data_root).inputs("train", "paper")
    return (f"Input statistics: the 60,000 training digits scaled as Sec. II-B says (background -0.1, ink 1.175, "
            f"padded to 32x32) have mean {float(x.mean()):.3f} and variance {float(x.var()):.3f}; the paper says "
            f"this 'makes the mean input roughly 0, and the variance roughly 1'.\n")


def numeric_builds_line(recs: list[dict]) -> str:
    """Which numeric build made the faithful runs; runs of another build than this one are flagged:
    the same seed would give other numbers here (lenet1998/fast/build.py)."""
    from lenet1998.fast.build import numeric_build_id, record_numeric_build

    now = numeric_build_id()
    counts: dict[str, int] = {}
    for r in recs:
        if r["family"] == "lenet1998":
            b = record_numeric_build(r)
            counts[b] = counts.get(b, 0) + 1
    parts = [f"{b} ({'this build' if b == now else 'OTHER BUILD' if b != 'reference' else 'torch reference path'}): "
             f"{n} runs" for b, n in sorted(counts.items())]
    other = sum(n for b, n in counts.items() if b not in (now, "reference"))
    flag = (f" -- **{other} faithful runs were made by another numeric build than this one ({now}): re-running "
            f"them here gives other numbers**" if other else "")
    return f"- numeric builds of the faithful runs (kernel source + flags): {', '.join(parts) or '-'}{flag}"


def _provenance(outcomes: list[Outcome], started: float, prof_name: str, device: str) -> str:
    recs = [o.record for o in outcomes if o.record]
    commits = sorted({(r["provenance"].get("git_commit") or "?")[:10] + ("+dirty" if r["provenance"].get("git_dirty")
                                                                        else "") for r in recs})
    devices = sorted({r["provenance"]["device_name"] for r in recs})
    run_seconds = sum(r["provenance"].get("wall_seconds", 0) for r in recs)
    now = provenance.collect(torch.device("cpu"))
    lines = [
        f"- profile: `{prof_name}` ({PROFILES[prof_name].note}); requested device: `{device}`",
        f"- machine: {cpu_model()}, {now['cpu_count']} logical CPUs, torch threads {now['torch_threads']}; "
        f"{platform.platform()}",
        f"- devices used by the runs: {', '.join(devices) or '-'}",
        f"- versions: python {now['python']}, torch {now['torch']}, torchvision {now['torchvision']}, "
        f"lenet-repro {now['package_version']}",
        f"- commits of the runs: {', '.join(commits) or '-'}; report generated at commit "
        f"{(now['git_commit'] or '?')[:10]}{'+dirty' if now['git_dirty'] else ''}",
        numeric_builds_line(recs),
        f"- runs: {len(outcomes)} ({sum(o.cached for o in outcomes)} from the cache, "
        f"{sum(o.record is None for o in outcomes)} failed); summed run wall time {run_seconds / 60:.1f} min; "
        f"this invocation took {(time.time() - started) / 60:.1f} min",
        f"- generated: {provenance.now_iso()}",
    ]
    return "\n".join(lines) + "\n"


def ablation_section(outcomes: list[Outcome], made: dict, data_root, prof_name: str) -> list[str]:
    """Table 3 and what follows from it: the ablation study between the two ends (reports/sections/ablations.py,
    statistics in reports/sections/table3.py; gap.py, questions.py, xavier.py build on them)."""
    from .sections import ablations, gap, questions, table3, xavier
    from .verdicts import ALPHA

    present = any(o.record for o in outcomes if o.item.experiment.group in ablations.GROUPS)
    if not present:
        return ["## Table 3. The ablation study: LeNet-5 (1998) and the textbook LeNet\n", "_(no ablation runs)_\n"]
    prof = get_profile(prof_name)
    fig = made.get("ablation_waterfall")
    doc = table3.__doc__.split("\n\n", 1)[1].strip()
    parts = [
        "## Table 3. The ablation study: LeNet-5 (1998) and the textbook LeNet\n",
        "One end is the faithful recipe (Table 2's network and training); the other is the d2l classic network "
        "and recipe on MNIST (`lenet train exercise-mnist`) computed by the 1998 code: sigmoid, plain average "
        "pooling, dense C3, F6 -> linear 10 + softmax, the book's Xavier init, minibatch SGD at lr 0.9, batch 256, "
        "10 epochs reshuffled, inputs in [0, 1]. tests/test_ablations.py checks that the two code paths compute "
        "the same function (logits, loss, gradients, one SGD pass) and draw from the same init bounds. Every "
        "difference is a change of its own; each row is a set of changes (reports/sections/ablations.py).\n",
        doc.replace("below ALPHA (printed with its value in the tables'\n  note)", f"below ALPHA = {ALPHA:g}") + "\n",
        (f"_Profile `{prof_name}`: {prof.note}._\n" if prof_name != "full" else ""),
        table3.endpoint_agreement(outcomes) + "\n",
    ]
    for group in ablations.GROUPS:
        parts += [f"### Table 3{'abcde'[ablations.GROUPS.index(group)]}. {table3.TITLES[group]}\n",
                  _md(table3.table(outcomes, group))]
    parts += [
        "CSV and LaTeX (booktabs) versions of these tables: `tables/ablation-*.csv`, `tables/ablation-*.tex`.\n",
        "### The gap explained\n", gap.paragraph(outcomes) + "\n",
        "Each change's effect (points of test error; 95 % paired t interval), by where it is measured:\n",
        _md(gap.table(outcomes)),
        (f"![waterfall](figures/{fig.name})\n\n_The forward ladder: test error after each step (mean and 95 % t "
         f"interval: seeds + shared test digits); a bar is the step's change, grey the 1998 end, purple the textbook end._\n"
         if fig else ""),
        "### The questions users ask\n",
        _md(questions.table(outcomes, questions.c5_identity(data_root))),
        "### The Xavier row explained\n", xavier.paragraph(outcomes) + "\n", _md(xavier.table(outcomes)),
    ]
    return parts


def _failed_by_rule(outcomes: list[Outcome]) -> str:
    """One line per experiment with runs that failed by THE FAILED-RUN RULE."""
    from .stats import rowruns

    lines = []
    for exp_id in dict.fromkeys(o.item.experiment.id for o in outcomes if o.record):
        note = rowruns.of(outcomes, exp_id).failed_note()
        if note:
            lines.append(f"- `{exp_id}`: {note}\n")
    return ("".join(lines) if lines else "No run failed the rule.\n")


def comparison_section(outcomes: list[Outcome], fig) -> list[str]:
    """Figs. 9-12: the paper's comparison with our numbers (reports/sections/comparison.py says which runs; fig9.py,
    fig10_12.py, holdout.py and budget.py build the tables)."""
    from .sections import budget, comparison, fig9, fig10_12, holdout

    design = comparison.__doc__.split("\n\n", 1)[1].strip()
    off = fig9.disagreements(outcomes)
    failed = fig9.failed_rows(outcomes)
    budget_rows, budget_line = budget.table(outcomes)
    return [
        "## Figs. 9-12. The paper's comparison\n",
        fig9.__doc__.split("\n\n", 1)[1].strip() + "\n",
        "### Fig. 9: test error on the 10,000 MNIST test digits\n", _md(fig9.table(outcomes)),
        "CSV and LaTeX (booktabs) versions: `tables/fig9.csv`, `tables/fig9.tex`.\n",
        fig("fig9", "The paper's Fig. 9 and ours, row by row (log scale; ours with its 95 % interval)"),
        ("Where ours and the paper's disagree:\n\n" + "\n".join(off) + "\n" if off else ""),
        ("Rows with failed runs (THE FAILED-RUN RULE; left out of the row's mean, interval, bar and Fig. 10):\n\n"
         + "\n".join(failed) + "\n" if failed else ""),
        "Where the paper contradicts itself, and the reading taken:\n\n"
        + "\n".join(f"- {c}" for c in comparison.CONTRADICTIONS) + "\n",
        "### Figs. 10-12: rejection, multiply-adds per recognition and variables stored\n", _md(fig10_12.table(outcomes)),
        "### The options chosen on held-out digits\n", design + "\n", _md(holdout.table(outcomes)),
        "### Time per run against the budget\n", _md(budget_rows), budget_line + "\n",
    ]


def write_report(outcomes: list[Outcome], out: Path, prof_name: str, device: str, started: float,
                 data_root=None, log=print) -> Path:
    from lenet1998.config import FAITHFUL

    out = Path(out)
    from .render import artefacts

    made = artefacts.write_all(outcomes, out, data_root)  # every figure and table file (reports/render/artefacts.py)
    faithful = [o for o in outcomes if o.item.experiment.group == "faithful" and o.record]

    def fig(name, caption):
        p = made.get(name)
        return f"![{caption}](figures/{p.name})\n\n_{caption}_\n" if p else f"_({name}: no runs for it)_\n"

    from .sections import fig6, open_choices, readings, speed, sweeps, table1, table2

    failed = [o for o in outcomes if o.record is None]
    from .stats import selection

    readings_rows, readings_how = readings.table(outcomes)
    rule = selection.__doc__.split("\n\n", 1)[1].rsplit("\n\nEvery threshold", 1)[0]
    parts = [
        f"# lenet-repro report (`{prof_name}` profile)\n",
        "Generated by `lenet report` from the run records under `runs/` (results.csv has one row per run). "
        "Do not edit by hand: re-run the report.\n",
        verdicts.rule_paragraph() + "\n",
        "## Table 1. The textbook LeNet vs the book\n",
        "The book's numbers are the distribution over its own builds of identical code (distinct printed "
        "lines). Ours: mean +- sd over seeds. Verdict: is our mean inside the book's range?\n",
        _md(table1.table(outcomes)),
        "Every textbook run:\n", _md(table1.detail(outcomes)),
        fig("textbook_curves", "Our textbook runs per epoch beside the book's per-epoch curves"),
        "## Table 2. The faithful LeNet-5 vs the paper\n",
        "Test error on the 10,000 MNIST test digits: each seed with its Clopper-Pearson 95 % interval, the row "
        "(mean over its good seeds) with THE ROW UNCERTAINTY (seeds + shared test digits); every verdict by THE "
        "VERDICT RULE against the paper's number with its own standard error (see *How to read the verdicts* "
        "above). CSV and LaTeX: `tables/table2.csv`, `tables/table2.tex`.\n",
        _md(table2.table(outcomes)),
        "Effective SDLM learning rates eta / (mu + h_kk) in the first pass:\n", _md(table2.rate_spread(outcomes)),
        fig("learning_curves", "Training and test error vs pass (cf. the paper's Fig. 5)"),
        fig("misses", "The misclassified test digits of the best faithful model (cf. Fig. 8)"),
        _input_statistics(data_root) if faithful else "",
        "## The open readings, jointly\n\nThe paper leaves open (or states twice) how the S2/S4 window combines "
        "its inputs, the init's divisor, how the subsampling coefficients and biases start, and what "
        "curvature a coefficient gets. Every combination of the readings it allows is trained on the first "
        "50,000 training digits and scored on the last 10,000 (never the test digits). The rule "
        "(reports/stats/selection.py), written before these runs finished:\n\n" + rule + "\n",
        _md(readings_rows), f"Choice: {readings_how}.\n" if not readings_rows.empty else "",
        "Pass-1 effective rates per parameter tensor (smallest .. largest over the seeds):\n"
        if not readings_rows.empty else "", _md(readings.layers(outcomes)) if not readings_rows.empty else "",
        f"## Choosing j (Eq. 9)\n\nThe MAP constant j is not given in the paper. Default: j = {FAITHFUL.map_j:g}. "
        "Each row: the faithful network with only j changed, trained on the first 50,000 training patterns "
        "and evaluated on the last 10,000 (never on the test digits); each compared with the default by THE CHANGE "
        "RULE (seed-matched pairs, paired t, Holm over the table; the McNemar column is descriptive).\n",
        _md(sweeps.table(outcomes, "j-sweep")),
        "## Choosing the distortion ranges (Sec. III-C)\n\nThe paper names the distortion types but not their "
        "ranges. Each row: the faithful recipe with distortions whose four ranges (translation, scale, squeeze, "
        "shear) are scaled together, or with none, trained on the first 50,000 training patterns and evaluated on "
        f"the last 10,000; each is compared with the default ranges ({sweep_default_id('distortion-sweep')}) by THE "
        "CHANGE RULE, as j above.\n",
        _md(sweeps.table(outcomes, "distortion-sweep")),
        fig("distortions", "Training digits and distorted copies at each factor of the sweep"),
        *comparison_section(outcomes, fig),
        "## Fig. 6. LeNet-5 against the training-set size\n\n" + fig6.__doc__.split("\n\n", 1)[1].strip() + "\n",
        _md(fig6.table(outcomes)),
        fig("fig6", "Training and test error vs training-set size (cf. the paper's Fig. 6); bars: 95 % t "
                    "intervals over seeds; crosses: the paper's 60,000 points"),
        "## Open choices\n\nThe other readings of what the paper leaves open or states twice, each alone on "
        "the faithful default (same seeds and length as the ablations; test set).\n",
        _md(open_choices.table(outcomes, "open-choices", BASELINE)),
        *ablation_section(outcomes, made, data_root, prof_name),
        "## Speed\n", _md(speed.table(outcomes)),
        "## Figures\n", fig("rbf_bitmaps", "The RBF output prototypes (cf. Fig. 3)"),
        fig("activations", "Textbook LeNet activations for a sweater and a coat (the book's exercise)"),
        "## Failed runs\n",
        "Runs that crashed (no record) and runs that failed to train by THE FAILED-RUN RULE (reports/verdicts/"
        "failures.py), in every group; a failed run is never part of its row's mean, interval or bar.\n",
        ("".join(f"- `{o.item.key}`: crashed: {o.error} (re-run the report to retry)\n" for o in failed) if failed
         else "No run crashed.\n"),
        _failed_by_rule(outcomes),
        "## Provenance\n", _provenance(outcomes, started, prof_name, device),
    ]
    path = out / "REPORT.md"
    atomic.write_text(path, "\n".join(parts), flag="--out")
    log(f"wrote {path}, {out / 'results.csv'} and {len([p for p in made.values() if p])} figures")
    return path


def main(argv: list[str] | None = None) -> int:
    from lenet_repro.cli_util import int_range

    # sane upper bounds of the numeric flags (beyond them a value is a typo: --estimate --workers 10**15 ran
    # out of memory); the lower ones of --seeds, --jobs and --retries are checked, in one line, further down
    MAX_SEEDS, MAX_JOBS, MAX_RETRIES, MAX_WORKERS = 100, 256, 100, 10_000
    p = argparse.ArgumentParser(prog="lenet report", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--profile", default="quick", choices=list(PROFILES))
    p.add_argument("--device", default="auto", choices=DEVICE_CHOICES,
                   help=AUTO_HELP + "; textbook runs use it, faithful runs use the CPU fast path unless cuda is named")
    p.add_argument("--seeds", type=int_range(1, MAX_SEEDS, low_checked_later=True), default=None,
                   help=f"seeds per experiment, 1 .. {MAX_SEEDS} (default: the profile's)")
    p.add_argument("--only", default=None, help="comma-separated globs on experiment ids, e.g. 'textbook/*'")
    p.add_argument("--jobs", type=int_range(1, MAX_JOBS, low_checked_later=True), default=1,
                   help=f"worker processes for independent textbook runs, 1 .. {MAX_JOBS}")
    p.add_argument("--out", default=None, help="default: reports/<profile>; locked while the report runs")
    p.add_argument("--data-root", default=None, help="default: $LENET_DATA_ROOT or ~/.cache/lenet-repro/data")
    p.add_argument("--retries", type=int_range(0, MAX_RETRIES, low_checked_later=True), default=1,
                   help=f"retries of a crashed run before it is reported failed, 0 .. {MAX_RETRIES}")
    p.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    p.add_argument("--engine", default="local", choices=ENGINES,
                   help="where the units of work run: here, or on a Ray cluster (pip install -e '.[ray]')")
    p.add_argument("--address", default=None,
                   help="--engine ray: the cluster's HOST:PORT (default $RAY_ADDRESS); 'local' starts Ray here")
    p.add_argument("--no-train", action="store_true",
                   help="train nothing: write the report from the runs already in the cache (the rest is listed as not run)")
    p.add_argument("--artefact", default=None, metavar="NAME",
                   help="write only this figure or table from the cached runs of --profile / --out (nothing trained, "
                        "REPORT.md untouched) to --to; `--artefact list` lists the names")
    p.add_argument("--to", default=None, metavar="PATH",
                   help="--artefact: where (a figure: PATH's .png and .pdf; a table: its .csv and .tex); default: "
                        "the artefact's file name in the current folder")
    p.add_argument("--estimate", action="store_true",
                   help="print the expected wall time on --workers workers (from the recorded runs) and exit")
    p.add_argument("--workers", type=int_range(1, MAX_WORKERS), nargs="+", default=[1], metavar="N",
                   help=f"--estimate: worker counts to estimate for, 1 .. {MAX_WORKERS:,} (workers of {TASK_CPUS} cores)")
    args = p.parse_args(argv)
    if args.address and args.engine != "ray":
        p.error("--address needs --engine ray")
    if args.to and not args.artefact:
        p.error("--to needs --artefact NAME (`--artefact list` lists them)")

    def body() -> int:
        from .stats import rowruns

        started = time.time()
        rowruns.DATA_ROOT[0] = args.data_root  # the labels THE FAILED-RUN RULE reads
        prof = get_profile(args.profile)
        if args.jobs < 1:
            raise ConfigError(f"--jobs must be a positive integer, got {args.jobs}")
        if args.retries < 0:
            raise ConfigError(f"--retries must be a non-negative integer, got {args.retries}")
        if args.device != "auto":
            resolve_device(args.device)  # fail early, in one line, if it is not there
        plan = build_plan(prof, args.seeds, args.only)
        out = Path(args.out or f"reports/{prof.name}")
        if args.artefact:
            from .render import artefacts

            if args.artefact == "list":
                print(artefacts.listing())
                return 0
            a = artefacts.get(args.artefact)
            outcomes = run_plan(plan, out, data_root=args.data_root, readonly=True, log=lambda *x, **k: None)
            paths = artefacts.write_one(a.name, outcomes, args.to or Path(a.default).name, args.data_root)
            print(f"wrote {', '.join(map(str, paths))} (from {sum(o.record is not None for o in outcomes)} cached runs "
                  f"of {out})")
            return 0
        if args.dry_run:
            for it in plan:
                print(it.key, it.overrides)
            return 0
        if args.estimate:
            from .run.estimate import estimate, format_estimate

            ests, sources = estimate(plan, out, args.workers)
            print(format_estimate(prof.name, ests, sources))
            return 0
        with dir_lock(out, "--out"):  # one report per --out: a second one refuses in one line
            print(f"lenet report: profile {prof.name}, {len(plan)} runs -> {out}")
            textbook_device = args.device
            outcomes = run_plan(plan, out, device=textbook_device, data_root=args.data_root, jobs=args.jobs,
                                retries=args.retries, engine=args.engine, address=args.address,
                                readonly=args.no_train, log=print)
            write_report(outcomes, out, prof.name, args.device, started, args.data_root)
        failed = sum(o.record is None for o in outcomes)
        return 1 if failed and not args.no_train else 0

    return run_cli(body, prog="lenet report")


if __name__ == "__main__":
    sys.exit(main())
