"""Aggregation cost: polars over a run folder of many trial files vs the equivalent pandas code.

    python benchmarks/aggregate.py [--trials 10000] [--rows-per-trial 1000] [--dir /tmp/agg-bench]

Writes a synthetic run folder with the real row schema (10 million rows across 10,000 trial files by
default; kept for reruns), then runs the same aggregation — per trial and metric: count, mean, last
value by step; joined to the trial's factors — once with polars (lazy scan, the project's way) and once
with pandas (read every file, concat, groupby), each in a fresh process so peak memory (max RSS) is its own.
Target: polars >= 5x faster with lower peak memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

METRICS = ["loss", "accuracy", "step_time", "energy", "peak_memory"]


def write_run(root: Path, trials: int, rows_per_trial: int) -> None:
    from dl_drawbacks.rows import ROW_SCHEMA

    if (root / "DONE").exists():
        return
    rng = np.random.default_rng(0)
    steps = rows_per_trial // len(METRICS)
    for t in range(trials):
        folder = root / "trials" / f"t{t:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        n = steps * len(METRICS)
        frame = pl.DataFrame({
            "study": ["compute"] * n, "run_id": ["bench"] * n, "trial_id": [f"t{t:05d}"] * n, "seed": [t % 3] * n,
            "factors": [json.dumps({"model.size": ["xs", "s", "m", "l"][t % 4], "lr": 10.0 ** -(t % 5)})] * n,
            "metric": np.repeat(METRICS, steps), "split": ["train"] * n, "group": [""] * n,
            "step": np.tile(np.arange(steps), len(METRICS)), "epoch": [None] * n, "value": rng.random(n),
            "unit": ["x"] * n, "provenance": ["measured"] * n, "rank": [0] * n,
        }, schema=ROW_SCHEMA)
        frame.write_parquet(folder / "rows.parquet", statistics=False)
    (root / "DONE").write_text("ok")


POLARS = """
import polars as pl, sys
files = sorted(__import__('glob').glob(sys.argv[1] + '/trials/*/rows.parquet'))
lf = pl.scan_parquet(files)
out = (lf.sort('step').group_by('trial_id', 'metric')
         .agg(pl.len().alias('n'), pl.col('value').mean().alias('mean'), pl.col('value').last().alias('last'), pl.col('factors').first())
         .collect())
print(out.height)
"""

PANDAS = """
import pandas as pd, sys, glob
files = sorted(glob.glob(sys.argv[1] + '/trials/*/rows.parquet'))
df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
df = df.sort_values('step', kind='stable')
g = df.groupby(['trial_id', 'metric'], sort=False)
out = g.agg(n=('value', 'size'), mean=('value', 'mean'), last=('value', 'last'), factors=('factors', 'first')).reset_index()
print(len(out))
"""


PEAK = "\nimport resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"


def measure(code: str, root: Path) -> tuple[float, float, str]:
    """Wall time and the child's own peak RSS (it prints ru_maxrss of itself, KiB on Linux)."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code + PEAK, str(root)], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    groups, peak_kib = done.stdout.split()
    return wall, int(peak_kib) * 1024, groups


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--rows-per-trial", type=int, default=1_000)
    ap.add_argument("--dir", default="/tmp/agg-bench")
    args = ap.parse_args()
    root = Path(args.dir) / f"{args.trials}x{args.rows_per_trial}"
    t0 = time.perf_counter()
    write_run(root, args.trials, args.rows_per_trial)
    print(f"run folder: {root} ({args.trials:,} trial files, {args.trials * args.rows_per_trial:,} rows; written in {time.perf_counter() - t0:.1f} s)")
    pd_wall, pd_peak, pd_out = measure(PANDAS, root)
    pl_wall, pl_peak, pl_out = measure(POLARS, root)
    assert pd_out == pl_out, (pd_out, pl_out)
    print(f"{'':<10}{'wall s':>10}{'peak RSS MiB':>14}  (groups: {pl_out})")
    print(f"{'pandas':<10}{pd_wall:10.2f}{pd_peak / 2**20:14.0f}")
    print(f"{'polars':<10}{pl_wall:10.2f}{pl_peak / 2**20:14.0f}")
    print(f"speed-up polars vs pandas: {pd_wall / pl_wall:.1f}x")


if __name__ == "__main__":
    main()
