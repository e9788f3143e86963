"""Sweep throughput on this machine: >= 20 small trials through `dl-drawbacks run`, trials per minute
and the share of wall time spent inside training (the rest is Ray, Tune, process start, data, model).

    python benchmarks/sweep.py [--trials 20] [--steps 3000] [--out /tmp/sweep-bench]

Target on 2 CPU cores: >= 80% of wall time inside training for trials of >= 30 s.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import yaml


def spec(trials: int, steps: int, size: str) -> dict:
    sizes = [size]
    seeds = list(range(trials))
    return {"name": "sweep-bench", "version": 1, "tracking": {"mode": "disabled"}, "studies": [{
        "kind": "compute", "data": {"name": "digits"}, "model": {"family": "mlp", "size": "s"},
        "execution": {"max_concurrent_trials": 2},
        "trainer": {"deepspeed": {"micro_batch": 64}, "budget": {"steps": steps, "eval_every": steps}},
        "seeds": seeds, "sweeps": [{"name": "model_size_mlp", "axes": {"model.size": sizes}}]}]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--steps", type=int, default=10000, help="10,000 steps of mlp/xl take ~30 s on one core")
    ap.add_argument("--size", default="xl")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    tmp = Path(args.out or tempfile.mkdtemp(prefix="sweep-bench-"))
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / "spec.yaml").write_text(yaml.safe_dump(spec(args.trials, args.steps, args.size)))
    t0 = time.time()
    subprocess.run([sys.executable, "-m", "dl_drawbacks.cli", "run", str(tmp / "spec.yaml"), "--out", str(tmp / "run")], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.time() - t0
    rows = pl.scan_parquet(str(tmp / "run" / "trials" / "*" / "rows.parquet")).filter(pl.col("metric") == "train_time").collect()
    n = rows.height
    train_s = rows["value"].sum()
    slots = 2  # trials run two at a time on two cores
    print(f"{n} trials of mlp/{args.size}, {args.steps} steps, 2 at a time, on this machine")
    print(f"  wall time of the whole command   {wall:8.1f} s   ({n / wall * 60:.1f} trials/minute)")
    print(f"  training time per trial (median) {rows['value'].median():8.1f} s")
    print(f"  share of wall time in training   {train_s / (wall * slots):8.1%}   (sum of training time / (wall x {slots} slots))")


if __name__ == "__main__":
    main()
