"""Regenerate the README's generated blocks from recorded data (never edit them by hand).

    python -m reports.render.readme            # rewrite the blocks in README.md
    python -m reports.render.readme --check    # exit 1 if a block is stale (the test suite runs this)

Blocks (between `<!-- BEGIN name -->` and `<!-- END name -->`):
- results: the headline table, from the committed full report's run records (reports/full/runs);
- ledger: the fidelity ledger (lenet1998/ledger.csv + the defaults in lenet1998/config.py);
- ledger-lush: the Lush-demo recipe's own ledger (lenet1998/ledger_lush.csv + recipes.LUSH_DEMO);
- speed: the online-step benchmark (benchmarks/results/online_step.json) and GPU measurements;
- speed-layered: the Fig. 9 networks' online-step benchmark (benchmarks/results/layered_step.json);
- reproduction: the cross-target comparison of one seed (benchmarks/results/cross_target.json);
- raylocal: the smoke plan on a two-node Ray cluster against the local engine (benchmarks/results/ray_vs_local.json);
- estimate: the wall-time planner's output for the full profile at 1, 8 and 64 workers (reports/run/estimate.py);
- ablation: the ablation study's gap paragraph, the users' questions and its wall time (reports/sections/gap.py, questions.py);
- compare: `lenet compare`'s worked example, from its committed runs (reports/compare-example, examples/);
- timings: measured wall times of the set-up commands and report profiles (benchmarks/results/timings.json).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from lenet_repro.errors import ConfigError
from lenet_repro.references import headline_reference, reference_for

from ..stats import rowruns
from ..run.plan import build_plan, distortion_label, experiments, sweep_default_id
from ..sections.common import finished
from ..sections.sweeps import winner_margin
from ..sections.table2 import commits_note, running_train_error
from ..verdicts import judge, mean_sd, within_range

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FULL = ROOT / "reports" / "full"
BENCH = ROOT / "benchmarks" / "results"


def load_outcomes(out: Path, profile: str = "full"):
    from ..run.runner import run_plan

    return run_plan(build_plan(profile), out, readonly=True, log=lambda s: None)


def _sweep_line(outcomes, group: str, intro: str) -> list[str]:
    """One README line for a held-out sweep: each setting's mean error over its good seeds (failed ones
    named), the default marked, and the winner's noise margin (THE CHANGE RULE)."""
    ids = list(dict.fromkeys(o.item.experiment.id for o in outcomes if o.item.experiment.group == group and o.record))
    if not ids:
        return []
    label = {o.item.experiment.id: o.item.experiment.label.split(":")[0] for o in outcomes}
    default_id = sweep_default_id(group)
    cells, seeds = [], set()
    for i in ids:
        split = rowruns.of(outcomes, i)
        seeds.add(split.n)
        m = mean_sd([r["final"]["test_error"] for r in split.good])[0] if split.good else float("nan")
        cells.append(f"{label[i]}{' (default)' if i == default_id else ''}: "
                     + (f"{m:.2f} %" if split.good else "all failed") + (f" ({split.failed_note()})" if split.failed else ""))
    margin = winner_margin(outcomes, group)
    return ["", f"{intro}, mean of {'/'.join(map(str, sorted(seeds)))} seeds): {', '.join(cells)}"
            + (f"; {margin}" if margin else "") + "."]


def _readings_line(outcomes) -> list[str]:
    """The joint choice of the open readings (reports/stats/selection.py), as the report states it."""
    from ..sections.readings import readings_rows
    from ..stats.selection import PAPER_RATE_HIGH, PAPER_RATE_LOW, choose, shortfall

    rows = readings_rows(outcomes)
    if not rows:
        return []

    chosen, how = choose(rows)
    pool = [r for r in rows if not r["failed"]] or rows
    closest = min(pool, key=lambda r: (-r["met"], r["heldout"]))
    misses = "; ".join(f"seed {i}: {c} {w}" for i, v in enumerate(closest["verdicts"]) for c, w in shortfall(v).items())
    failed = [r for r in rows if r["failed"]]
    margin = winner_margin(outcomes, "readings")
    return ["", f"The open readings, jointly ({len(rows)} configurations x {rows[0]['seeds']} seeds, held-out error on "
                f"the last 10,000 training digits; rule: reports/stats/selection.py): {how}. Chosen: {chosen['label']}, "
                f"{chosen['heldout']:.2f} % (pass-1 rates {chosen['rate_min']:.2g} .. {chosen['rate_max']:.2g}); "
                f"closest to the paper's diagnostics: {closest['label']}, {closest['heldout']:.2f} % (pass-1 rates "
                f"{closest['rate_min']:.2g} .. {closest['rate_max']:.2g}; the paper: {PAPER_RATE_LOW:g} .. "
                f"{PAPER_RATE_HIGH:g})" + (f"; what the closest misses, and by how much: {misses}" if misses else "")
                + (f"; {len(failed)} configurations have a failed seed and are out of the choice" if failed else "")
                + (f"; {margin}" if margin else "") + "."]


def _comparison_lines(outcomes) -> list[str]:
    """The Fig. 9 comparison in a few lines: each row run so far, ours beside the paper's, and Fig. 6."""
    from ..sections import fig6, fig9

    t = fig9.table(outcomes)
    done = t[t["ours %"] != "-"]
    if done.empty:
        return []
    counts = {k: int((done["verdict"] == k).sum()) for k in ("consistent", "higher", "lower", "inconclusive")}
    failed_rows = int((done["failed runs"] != "-").sum())
    cells = "; ".join(f"{r['classifier (Fig. 9)']} {r['ours %']} ({r['paper %']}, {r['verdict']}"
                      + (f"; {r['failed runs']}" if r["failed runs"] != "-" else "") + ")"
                      for _, r in done.iterrows())
    lines = ["", f"The paper's Fig. 9 comparison ([REPORT.md](reports/full/REPORT.md#figs-9-12-the-papers-comparison)): "
                 f"{len(done)} of its {len(t)} rows measured; by THE VERDICT RULE (reports/verdicts/published.py: "
                 f"the paper's number with its own sampling error) {counts['consistent']} consistent, "
                 f"{counts['higher']} higher, {counts['lower']} lower, {counts['inconclusive']} inconclusive"
                 + (f"; {failed_rows} row{'s have' if failed_rows != 1 else ' has'} failed seeds, named and left out"
                    if failed_rows else "")
                 + f". Test error % ours (the paper's, verdict): {cells}."]
    pts = fig6.points(outcomes)
    if pts:
        curves = {}
        for p in pts:
            curves.setdefault(p["curve"], []).append(p)
        cells = "; ".join(f"{c}: " + " / ".join(f"{p['mean']:.2f}" for p in ps) + " % at "
                          + " / ".join(f"{p['size'] // 1000}k" for p in ps) for c, ps in curves.items())
        lines += ["", f"Fig. 6, LeNet-5 against the training-set size (mean over seeds): {cells}."]
    return lines


def results_block(out: Path = FULL) -> str:
    if not (out / "results.csv").exists():
        return "_No full report has been committed yet (`make report PROFILE=full`)._\n"
    outcomes = load_outcomes(out)
    lines = ["| model | runs | ours | published | verdict |", "|---|---|---|---|---|"]
    for ex in experiments("faithful"):
        split = rowruns.of(outcomes, ex.id, holdout=False)
        runs = split.good
        if not runs:
            continue
        ref, train_ref = headline_reference(ex.recipe), reference_for(ex.recipe, "train_error")
        errs = [r["final"]["test_error"] for r in runs]
        m, sd = mean_sd(errs)
        e = split.estimate
        verdict = judge(ref, m, e).outcome if all(r["final"]["test_n"] == 10_000 for r in runs) else "n/a (subset)"
        running = [running_train_error(r) for r in runs]
        tr = (f"on-the-fly training error after pass 19 {mean_sd(running)[0]:.2f} % (the final weights on the "
              f"training set: {mean_sd([r['final']['train_error'] for r in runs])[0]:.2f} %)"
              if None not in running and train_ref else
              f"training error {mean_sd([r['final']['train_error'] for r in runs])[0]:.2f} %")
        mixed = commits_note(runs)
        per_seed = ", ".join(f"{x:.2f}" for x in errs)
        sdtxt = f" +- {sd:.2f}" if len(runs) > 1 else ""
        lines.append(f"| {ex.recipe} (MNIST) | {len(runs)} seeds, {len(runs[0]['metrics'])} passes"
                     + (f" ({split.failed_note()})" if split.failed else "")
                     + (f" {mixed}" if mixed else
                        f", commit {(runs[0]['provenance'].get('git_commit') or '?')[:7]} (clean)") +
                     f" | test error **{m:.2f} %**{sdtxt} (seeds: {per_seed}; 95 % CI {e.lo:.2f}-{e.hi:.2f}, "
                     f"seeds + shared test digits); {tr} "
                     f"| {ref.value} % +- {ref.uncertainty} ({ref.source})"
                     + (f"; on-the-fly training error {train_ref.value} % after 19 passes" if train_ref else "")
                     + f" | {verdict} |")
    classic = next(ex for ex in experiments("textbook") if ex.headline)
    runs = finished(outcomes, classic.id)
    if runs:
        ref = headline_reference(classic.recipe)
        accs = [o.record["final"]["test_acc"] for o in runs]
        m, sd = mean_sd(accs)
        inside = ("inside the book's range" if within_range(m, ref.low, ref.high) == "consistent"
                  else "OUTSIDE the book's range")
        lines.append(f"| textbook {classic.recipe} LeNet (Fashion-MNIST) | {len(runs)} seeds, 10 epochs | test acc "
                     f"**{m:.3f}**" + (f" +- {sd:.3f}" if len(accs) > 1 else "") +
                     f" (loss {mean_sd([o.record['final']['train_loss'] for o in runs])[0]:.3f}, train acc "
                     f"{mean_sd([o.record['final']['train_acc'] for o in runs])[0]:.3f}) | the book's "
                     f"{ref.n_builds} builds: {ref.low:.3f}-{ref.high:.3f} (median {ref.value:.3f}) | {inside} |")
    from ..verdicts import rule_paragraph

    lines += ["", rule_paragraph()]
    lines += _comparison_lines(outcomes)
    lines += _readings_line(outcomes)
    lines += _sweep_line(outcomes, "j-sweep", "The MAP constant j, held-out error (last 10,000 training digits")
    lines += _sweep_line(outcomes, "distortion-sweep",
                         f"The distortion ranges, all scaled by one factor (x 1: {distortion_label(1).split(': ', 1)[1]}), held-out error (last 10,000 training digits")
    recs = [o.record for o in outcomes if o.record]
    commits = sorted({(r["provenance"].get("git_commit") or "?")[:10] for r in recs})
    devices = sorted({r["provenance"]["device_name"] for r in recs})
    failed = sum(o.record is None for o in outcomes)
    lines += ["", f"From the committed full report ([reports/full/REPORT.md](reports/full/REPORT.md)): "
                  f"{len({str(o.run_dir) for o in outcomes if o.record})} distinct runs on {', '.join(devices)}, commits {', '.join(commits)}"
                  + (f"; {failed} runs missing or failed" if failed else "") + "."]
    from ..report import numeric_builds_line

    lines += ["", numeric_builds_line(recs)[2:].capitalize().replace("**", "") + "."]
    return "\n".join(lines) + "\n"


def ledger_block() -> str:
    from lenet1998 import ledger

    return ledger.markdown()


def ledger_lush_block() -> str:
    from lenet1998 import ledger

    return ledger.markdown("lush")


def speed_block() -> str:
    p = BENCH / "online_step.json"
    if not p.exists():
        return "_Run `python benchmarks/online_step.py` to measure._\n"
    r = json.loads(p.read_text())
    fl = r["floor"]
    lines = [f"Measured by `python benchmarks/online_step.py` on {r['machine']} "
             f"({'AVX-512' if r['avx512'] else 'AVX2'}, {r['cpus']} CPUs), torch {r['torch']}, kernel built for "
             f"{r['kernel']['target']}, {r['measured_at'][:10]}; medians of {r['repeats']} repeats, every row from "
             f"the same run. The baseline is the best of the naive eager settings: {r['baseline']}. "
             f"The compute floor is {fl['mflop_per_step']:.2f} MFLOP per step at the measured float32 matmul "
             f"rate ({fl['matmul_gflops']['1']:.0f} GFLOP/s on 1 thread: {fl['solo_us']:.1f} us solo; "
             f"{fl['matmul_gflops'][str(r['cpus'])]:.0f} GFLOP/s on {r['cpus']}: {fl['aggregate_us']:.1f} us aggregate).",
             "", "| path | us/step | steps/s | vs baseline | of the floor |", "|---|---:|---:|---:|---:|"]
    for row in r["rows"]:
        lines.append(f"| {row['path']} | {row['us_per_step']:.1f} | {row['steps_per_s']:.0f} | "
                     f"{row['vs_baseline']:.1f}x | {100 * row['of_floor']:.0f} % |")
    h = r["hkk_500_ms"]
    bl = r["best_lockstep"]
    lines += ["", f"h_kk on 500 patterns: reference {h['reference']:.0f} ms, fast {h['fast']:.1f} ms. "
                  f"The fast path is {r['speedup_fast_vs_baseline']:.1f}x the best naive baseline solo "
                  f"({r['fast_solo_us']:.1f} us/step); lockstep peaks at K = {bl['K']}: {bl['steps_per_s']:.0f} "
                  f"steps/s in aggregate."]
    g = BENCH / "gpu.json"
    if g.exists():
        gr = json.loads(g.read_text())
        lines += ["", f"GPU ({gr['device']}): {gr['summary']}"]
    else:
        lines += ["", "GPU: not measured -- no GPU was available to this project's sessions so far; "
                      "`python benchmarks/gpu_textbook.py` records the textbook recipe's examples/s on one."]
    return "\n".join(lines) + "\n"


def speed_layered_block() -> str:
    p = BENCH / "layered_step.json"
    if not p.exists():
        return "_Run `python benchmarks/layered_step.py --out benchmarks/results` to measure._\n"
    r = json.loads(p.read_text())
    lines = [f"Measured by `python benchmarks/layered_step.py --out benchmarks/results` on {r['machine']} ({r['cpus']} "
             f"CPUs), torch {r['torch']}, layered kernel built for {r['kernel']['target']}, {r['measured_at'][:10]}; "
             f"best of {r['repeats']} repeats, every row from the same run. The baseline is plain eager PyTorch "
             f"(per-layer tensors, backward, p -= eps * grad) at its best thread count.", "",
             "| network | kernel, 1 thread (us/step) | 2 runs on 2 threads (us/step each) | torch by hand (us/step) "
             "| eager autograd baseline (us/step) | kernel speed-up | a 20-pass run (min) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, u in r["us_per_step"].items():
        hand = f"{u['mlp']:.1f}" if "mlp" in u else "-"
        lines.append(f"| {name} | {u['kernel']:.1f} | {u['kernel x2']:.1f} | {hand} | {u['autograd']:.1f} "
                     f"({u['autograd_threads']} thread{'s' * (u['autograd_threads'] > 1)}) | {u['autograd'] / u['kernel']:.1f}x "
                     f"| {u['kernel'] * 1.2e6 / 1e6 / 60:.1f} |")
    return "\n".join(lines) + "\n"


def reproduction_block() -> str:
    p = BENCH / "cross_target.json"
    if not p.exists():
        return "_Run `python benchmarks/cross_target.py` to measure._\n"
    r = json.loads(p.read_text())
    a, b = r["runs"]
    verdict = ("**identical records**: every number in them is the same (the test misses, the training misses, "
               "every per-pass loss, error and effective-rate spread)" if r["identical"]
               else "**records that differ** (a defect: see tests/test_determinism.py)")
    commit = (a["git_commit"] or "?")[:10] + (" (dirty tree)" if a["git_dirty"] else "")
    return (f"`python benchmarks/cross_target.py` trained `{r['recipe']}` seed {r['seed']} for {r['passes']} "
            f"passes twice on {r['machine']}, in fresh processes: with the kernel built for {a['kernel_target']} "
            f"(what an AVX2-only machine runs) and torch's CPU kernels forced to {a['torch_cpu_capability']}, "
            f"then for {b['kernel_target']} with torch at {b['torch_cpu_capability']}. Result: {verdict}; "
            f"{a['test_misses']} and {b['test_misses']} test misses, numeric build {a['numeric_build']}, "
            f"commit {commit}, {r['measured_at'][:10]}.\n")


def raylocal_block() -> str:
    p = BENCH / "ray_vs_local.json"
    if not p.exists():
        return "_Run `python benchmarks/ray_vs_local.py` to measure._\n"
    r = json.loads(p.read_text())
    return (f"Measured by `python benchmarks/ray_vs_local.py` ({r['measured_at'][:10]}, {r['machine']}, {r['cpus']} CPUs): "
            f"the {r['profile']} plan, {r['runs']} runs in {r['units']} units, on a two-node cluster on this machine "
            f"({'units ran on both nodes' if r['nodes_used'] == 2 else 'only one node was used'}) gave "
            + ("**identical records** to the local engine" if r["identical"] else "**different records** (a defect)")
            + f"; local {r['local_wall_s']:.0f} s, Ray {r['ray_wall_s']:.0f} s (plus {r['cluster_start_s']:.0f} s to "
            f"start the cluster): {r['overhead_per_unit_s']:.1f} s of overhead per unit (worker start-up, data "
            f"check, files shipped back), with the two nodes sharing the same 2 cores.\n")


def estimate_block() -> str:
    from ..run.estimate import estimate, format_estimate

    ests, sources = estimate(build_plan("full"), FULL, [1, 8, 64])
    return "```\n$ lenet report --profile full --estimate --workers 1 8 64\n" + \
        format_estimate("full", ests, sources) + "\n```\n"


def timings_block() -> str:
    p = BENCH / "timings.json"
    if not p.exists():
        return "_No timings recorded yet (`python benchmarks/timings.py`)._\n"
    latest = {}
    for e in json.loads(p.read_text()):
        latest[e["name"]] = e
    lines = ["| what | command | wall time | peak memory | machine | measured (commit) |", "|---|---|---:|---:|---|---|"]
    for e in latest.values():
        lines.append(f"| {e['name']} | `{e['command']}` | {e['wall_seconds'] / 60:.1f} min | {e['max_rss_mb']} MB "
                     f"| {e['machine']} | {e['date'][:10]} ({(e.get('commit') or '?')[:7]}) |")
    spent = full_report_time()
    if spent:
        lines.append(f"| the full report (`make report PROFILE=full`), {spent[1]} runs | machine time summed from its run "
                     f"records (lockstep groups once){spent[2]} | {spent[0] / 3600:.1f} h | - | {spent[3]} | {spent[4]} |")
    return "\n".join(lines) + "\n"


def full_report_time(out: Path = FULL, groups: tuple[str, ...] | None = None):
    """(seconds, runs, note, machine, date) the full report's runs took, summed from their run records
    (only the runs trained for the experiment groups `groups`, when given: a run shared with another
    group's experiment counts where it was trained).

    Textbook runs count their wall time; each lockstep group of faithful runs counts once (its members
    share `started_at`). A group resumed after an interruption records only its last segment's wall
    time, so it counts max(wall, training + evaluation time), its recorded time over all segments
    (a lower bound: h_kk and data preparation are left out).
    """
    outcomes = load_outcomes(out) if (out / "results.csv").exists() else []
    recs = {str(o.run_dir): o for o in outcomes
            if o.record and (groups is None or Path(o.run_dir).relative_to(Path(out) / "runs").parts[0] in groups)}
    if not recs:
        return None
    total, groups = 0.0, {}
    for o in recs.values():
        p = o.record["provenance"]
        if o.item.experiment.family == "modern":
            total += p["wall_seconds"]
            continue
        g = groups.setdefault((p["started_at"], p.get("lockstep_group", 1)), {"wall": 0.0, "train": 0.0, "eval": 0.0,
                                                                               "runs": 0})
        g["wall"], g["train"] = max(g["wall"], p["wall_seconds"]), max(g["train"], p["train_seconds"])
        g["eval"] += p.get("eval_seconds", 0.0)
        g["runs"] += 1
    resumed = 0
    for key, g in groups.items():
        if g["train"] > g["wall"]:  # resumed: the record's wall time covers only the last segment
            resumed += g["runs"]
            groups[key] = g["train"] + g["eval"]
        else:
            groups[key] = g["wall"]
    total += sum(groups.values())
    note = f"; {resumed} runs resumed after an interruption count their recorded training + evaluation time" \
        if resumed else ""
    machine = ", ".join(sorted({o.record["provenance"]["device_name"] for o in recs.values()}))
    date = max(o.record["provenance"]["finished_at"] for o in recs.values())[:10]
    return total, len(recs), note, machine, date


def ablation_block(out: Path = FULL) -> str:
    """The ablation study in a few generated lines: the gap explained, the users' questions, the cost."""
    from ..sections import ablations, gap, questions

    if not (out / "results.csv").exists():
        return "_No full report has been committed yet (`make report PROFILE=full`)._\n"
    outcomes = load_outcomes(out)
    have = {str(o.run_dir): o for o in outcomes if o.item.experiment.group in ablations.GROUPS}
    done = sum(1 for o in have.values() if o.record)
    lines = [f"From the committed full report ({done} of the {len(have)} distinct runs of the study recorded; Table 3 of "
             f"[reports/full/REPORT.md](reports/full/REPORT.md), CSV and LaTeX in reports/full/tables/):", "",
             gap.paragraph(outcomes), ""]
    q = questions.table(outcomes)
    lines += [f"- **{row['question']}**: {row['verdict']}." for _, row in q.iterrows()]
    t = full_report_time(out, ablations.GROUPS)
    if t:
        secs, runs, note, machine, _ = t
        lines += ["", f"The ablation groups' {runs} distinct runs took {secs / 3600:.1f} h of wall time on {machine} "
                      f"(2 cores; summed from their run records, lockstep groups once{note})."]
    return "\n".join(lines) + "\n"


EXAMPLE = ROOT / "reports" / "compare-example"
EXAMPLE_MODEL = "examples/modern_lenet.py:build"
EXAMPLE_ARGS = dict(recipe="exercise-relu", seeds=range(3))


def compare_block() -> str:
    """The worked example of `lenet compare`: its summary, recomputed from its committed runs (their records
    and checkpoints; nothing is trained: a missing run is an error naming the command that makes it)."""
    from .. import compare

    missing = [s for s in EXAMPLE_ARGS["seeds"] if not (EXAMPLE / "runs" / f"s{s}" / "result.json").exists()]
    if missing:
        raise ConfigError(f"{EXAMPLE} lacks the runs of seeds {missing}; run `lenet compare --model {EXAMPLE_MODEL} "
                          f"--name modern-lenet --recipe exercise-relu --seeds 3 --out reports/compare-example`")
    spec = str(ROOT / EXAMPLE_MODEL)
    runs, costs = compare.train_module(spec, compare.load_factory(spec), out=EXAMPLE, log=lambda *a, **k: None,
                                       **EXAMPLE_ARGS)
    result = compare.compare_runs(runs, "modern-lenet", costs=costs)
    summary = compare.markdown(result).split("\n## ")[0].split("\n\n", 2)[2].strip()
    return ("```\nlenet compare --model examples/modern_lenet.py:build --name modern-lenet --recipe exercise-relu "
            "--seeds 3 --out reports/compare-example\n```\n\n" + summary + "\n\n"
            "The Fig. 9 table and figure with the row added: "
            "[reports/compare-example/fig9.csv](reports/compare-example/fig9.csv), "
            "[fig9.png](reports/compare-example/fig9.png).\n")


BLOCKS = {"results": results_block, "compare": compare_block, "ledger": ledger_block, "ledger-lush": ledger_lush_block, "speed": speed_block,
          "speed-layered": speed_layered_block, "reproduction": reproduction_block,
          "raylocal": raylocal_block, "estimate": estimate_block, "timings": timings_block,
          "ablation": ablation_block}


def render(text: str) -> str:
    for name, fn in BLOCKS.items():
        pat = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
        if not pat.search(text):
            raise ConfigError(f"README.md has no '<!-- BEGIN {name} -->' ... '<!-- END {name} -->' block; "
                              f"put that marker pair back where the {name} block belongs")
        body = fn()
        text = pat.sub(lambda m: m.group(1) + body + m.group(2), text)
    return text


def main(argv: list[str] | None = None) -> int:
    from lenet_repro.cli_util import run_cli

    argv = sys.argv[1:] if argv is None else argv

    def body() -> int:
        old = README.read_text()
        new = render(old)
        if "--check" in argv:
            if new != old:
                print("README.md is stale: run `python -m reports.render.readme`", file=sys.stderr)
                return 1
            return 0
        from lenet_repro.atomic import write_text

        write_text(README, new)
        print("README.md regenerated")
        return 0

    return run_cli(body, prog="python -m reports.render.readme")


if __name__ == "__main__":
    sys.exit(main())
