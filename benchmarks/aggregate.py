"""Analysis at the engine's speed: the project's ``analyze`` aggregation vs plain lazy polars (and duckdb).

    python benchmarks/aggregate.py [--trials 10000] [--rows-per-trial 1000] [--repeats 3] [--dir /tmp/agg-bench]

Writes a synthetic run folder through the project's own writer (``RunFolder.write_trial``: rows, marker with the
rows' sha256; 10 million rows across 10,000 trial files of six studies by default, kept for reruns), then runs one
aggregation — per study, trial and metric: count, mean, last value by step, the trial's factors — three ways, each
in a fresh process so its peak memory (max RSS) is its own, interleaved ``--repeats`` times (median wall and CPU
time reported; on a loaded machine the CPU time, user + system of all the child's threads, is the steadier figure):

- project: what ``analyze`` does before the studies' own analysis: ``RunRows.read`` (every marker read, every rows
  file read and its checksum verified), the outcomes table, then each study's frame (``RunRows.rows``) collected
  with the row columns its analysis declares (``StudyKind.row_columns``; here the analysis is the query, which reads six
  of the 14) and aggregated, one study at a time;
- project, kinds' columns: the same with the columns the built-in kinds of these names declare (8-9 of 14) and
  those the query reads (10-11 in all); its peak RSS includes the kinds' imports (torch);
- project, every column: the same with all 14 columns decoded (what a kind that declares no columns is given);
- polars: plain ``pl.scan_parquet(all files).group_by(...).agg(...)`` (no markers, no checksums, only the columns
  the query names);
- duckdb: the same query in SQL over the same files (only when duckdb is installed: ``pip install duckdb``).

Target (issue 28): project within 1.25x of plain polars, project peak RSS <= 1 GB.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

STUDIES = ["compute", "data", "overfitting", "hparams", "bias", "interpretability"]
METRICS = ["loss", "accuracy", "step_time", "energy", "peak_memory"]


def _factors(t: int) -> dict:
    """A trial setting the size of a real one (the quickstart's canonical factors JSON is ~280 characters)."""
    return {
        "model.family": "mlp", "model.size": ["xs", "s", "m", "l"][t % 4], "model.width": 64 * (1 + t % 4),
        "model.depth": 2 + t % 3, "data.dataset": "digits", "data.n_train": 100 * (1 + t % 10),
        "trainer.lr": 10.0 ** -(1 + t % 4), "trainer.batch_size": 32, "trainer.weight_decay": 0.0001,
        "trainer.dropout": 0.1, "trainer.deepspeed.zero_stage": t % 3, "trainer.workers": 1,
        "data.label_noise": 0.1 * (t % 3), "sweep": "grid", "trial": t,
    }


def write_run(root: Path, trials: int, rows_per_trial: int) -> None:
    from dl_drawbacks.rows import RowBuffer
    from dl_drawbacks.storage.run_folder import LocalRunFolder

    if (root / "DONE").exists():
        return
    folder = LocalRunFolder(root)
    rng = np.random.default_rng(0)
    steps = rows_per_trial // len(METRICS)
    for t in range(trials):
        study, trial_id = STUDIES[t % len(STUDIES)], f"t{t:05d}"
        buf = RowBuffer(study, "bench", trial_id, t % 3, _factors(t))
        for metric, value in zip(np.repeat(METRICS, steps), rng.random(steps * len(METRICS))):
            buf.add(metric, value, "x", split="train")
        frame = buf.frame().with_columns(step=pl.Series(np.tile(np.arange(steps), len(METRICS))))
        folder.write_trial(trial_id, frame, {"status": "completed", "study": study, "sweep": "grid"})
    (root / "DONE").write_text("ok")


AGG = """
import resource, time
def cpu():
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime
START, START_CPU = time.perf_counter(), cpu()  # the work, after the imports

def agg(lf):
    return lf.group_by('study', 'trial_id', 'metric').agg(
        pl.len().alias('n'), pl.col('value').mean().alias('mean'),
        pl.col('value').sort_by('step').last().alias('last'), pl.col('factors').first())

def check(out):
    print(out.height, out['n'].sum(), round(out['mean'].sum(), 4), round(out['last'].sum(), 4),
          out['factors'].n_unique())
"""

PROJECT = """
import polars as pl, sys
from dl_drawbacks.aggregate import RunRows
{PRELUDE}
""" + AGG + """
run = RunRows.read(sys.argv[1])
run.outcomes()
studies = sorted({{m.get('study') for m in run.markers.values()}})
check(pl.concat([agg(run.rows(s, columns={COLUMNS}).lazy()).collect() for s in studies]))
"""
QUERY_COLUMNS = ["study", "trial_id", "metric", "value", "step", "factors"]  # what AGG reads: its kind's `row_columns`

POLARS = """
import polars as pl, sys, glob
""" + AGG + """
check(agg(pl.scan_parquet(sorted(glob.glob(sys.argv[1] + '/trials/*/rows.parquet')))).collect())
"""

DUCKDB = """
import duckdb, polars as pl, sys
""" + AGG + """
duckdb.sql("set enable_progress_bar = false")
check(duckdb.sql(f\"\"\"select study, trial_id, metric, count(*) as n, avg(value) as mean, arg_max(value, step) as last,
    first(factors) as factors from read_parquet('{sys.argv[1]}/trials/*/rows.parquet')
    group by study, trial_id, metric\"\"\").pl())
"""

PEAK = """
print(time.perf_counter() - START, cpu() - START_CPU, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def measure(code: str, root: Path) -> tuple[float, float, float, str]:
    """The child's wall time and CPU time (user + system, all its threads) after its imports, its own peak RSS
    (ru_maxrss of itself, KiB on Linux) and its result."""
    done = subprocess.run([sys.executable, "-c", code + PEAK, str(root)], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    *_, result, last = done.stdout.strip().splitlines()
    wall, cpu, peak_kib = last.split()
    return float(wall), float(cpu), int(peak_kib) * 1024, result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--rows-per-trial", type=int, default=1_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/agg-bench")
    args = ap.parse_args()
    root = Path(args.dir) / f"run-{args.trials}x{args.rows_per_trial}"
    t0 = time.perf_counter()
    write_run(root, args.trials, args.rows_per_trial)
    print(f"run folder: {root} ({args.trials:,} trial files, {args.trials * args.rows_per_trial:,} rows; "
          f"ready in {time.perf_counter() - t0:.1f} s)")
    built_in = (f"from dl_drawbacks.studies.base import get_kind\n"
                f"BUILT_IN = {{s: get_kind(s).row_columns for s in {STUDIES}}}")
    ways = {"project": ("", QUERY_COLUMNS), "project, kinds' columns": (built_in, f"[*BUILT_IN[s], *{QUERY_COLUMNS}]"),
            "project, every column": ("", None)}  # (what the child runs before its clock starts, the columns)
    ways = {**{way: PROJECT.format(PRELUDE=first, COLUMNS=cols) for way, (first, cols) in ways.items()},
            "polars": POLARS}
    if importlib.util.find_spec("duckdb") is not None:
        ways["duckdb"] = DUCKDB
    else:
        print("duckdb: not installed (pip install duckdb to compare it)")
    walls: dict[str, list[float]] = {w: [] for w in ways}
    cpus: dict[str, list[float]] = {w: [] for w in ways}
    peaks: dict[str, float] = {w: 0.0 for w in ways}
    results = {}
    load_before = os.getloadavg()[0]
    for _ in range(args.repeats):  # interleaved, so a change in the machine's load hits every way alike
        for way, code in ways.items():
            wall, cpu, peak, results[way] = measure(code, root)
            walls[way].append(wall)
            cpus[way].append(cpu)
            peaks[way] = max(peaks[way], peak)
    assert len(set(results.values())) == 1, f"the ways disagree: {results}"
    print(f"load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs")
    print(f"{'':<24}{'median wall s':>15}{'median CPU s':>14}{'peak RSS MiB':>14}   ({args.repeats} runs each; groups, "
          f"rows, sums: {results['polars']})")
    for way in ways:
        print(f"{way:<24}{statistics.median(walls[way]):15.2f}{statistics.median(cpus[way]):14.2f}"
              f"{peaks[way] / 2**20:14.0f}")
    for way in [w for w in ways if w != "polars"]:
        print(f"{way} / plain polars: wall {statistics.median(walls[way]) / statistics.median(walls['polars']):.2f}x, "
              f"CPU {statistics.median(cpus[way]) / statistics.median(cpus['polars']):.2f}x")
    print(f"target: project within 1.25x of plain polars (wall), project peak RSS "
          f"{peaks['project'] / 2**30:.2f} GiB (target <= 1 GB)")

if __name__ == "__main__":
    main()
