"""Framework overhead on one worker: the trial's training loop (with its instruments and rows) against a
bare PyTorch loop on the same model, data and step count, interleaved in one process; then the fixed
cost of a whole `dl-drawbacks run` trial (Ray start, Tune trial, data, model) until its first step.

    python benchmarks/overhead.py [--steps 400] [--repeats 5] [--size m]

Both loops are timed the same way, as the period from one step's start to the next one's, so everything
the framework does between steps (row bookkeeping, the loss read and divergence check every 10th step, hooks)
is inside the timed window, and each repeat's figure is the *mean* step period after warm-up: the every-10th-step
flush counts in full (a median would discard it). Both sides use the optimizer the trial's spec resolves to
(AdamW, its lr and weight decay). Prints each repeat, then the median over interleaved repeats of the per-repeat
ratio; target on CPU (issue 28) <= 1.05. Timings on a shared host are upper bounds: the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from dl_drawbacks.data import load_dataset
from dl_drawbacks.models import DataShape, resolve_params
from dl_drawbacks.models.mlp import MLP
from dl_drawbacks.plan import plan
from dl_drawbacks.spec import parse_spec
from dl_drawbacks.train.worker import run_worker


def spec_doc(steps: int, size: str) -> dict:
    return {"name": "overhead", "version": 1, "tracking": {"mode": "disabled"}, "studies": [{
        "kind": "compute", "data": {"name": "digits"}, "model": {"family": "mlp", "size": size},
        "trainer": {"micro_batch": 64, "budget": {"steps": steps, "eval_every": steps, "warmup_steps": 20}}}]}


def bare_loop(steps: int, size: str, seed: int = 0) -> list[float]:
    """What a user would write: the same batches (same shuffling, data resident as tensors), the trial's AdamW
    settings, cross-entropy, loss.item() every step."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    ds = load_dataset("digits")
    model = MLP(resolve_params("mlp", size, {}), DataShape("image", 64, 10))
    o = trial_of(steps, size).trainer.optimizer
    assert o.name == "adamw"
    opt = torch.optim.AdamW(model.parameters(), lr=o.lr, weight_decay=o.weight_decay)
    n = len(ds.y_train)
    x_all, y_all = torch.tensor(ds.x_train), torch.tensor(ds.y_train)  # resident (one copy), as the framework's split
    starts, epoch, order, pos = [], 0, np.random.default_rng([seed, 0]).permutation(n), 0
    for _ in range(steps):
        starts.append(time.perf_counter())
        if pos + 64 > n:
            epoch, pos = epoch + 1, 0
            order = np.random.default_rng([seed, epoch]).permutation(n)
        idx = order[pos : pos + 64]
        pos += 64
        x, y = x_all[idx], y_all[idx]
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()
    starts.append(time.perf_counter())
    return [b - a for a, b in zip(starts[:-1], starts[1:])]


def trial_of(steps: int, size: str):
    return plan(parse_spec(spec_doc(steps, size)))[0]


def framework_loop(steps: int, size: str) -> list[float]:
    records = run_worker(trial_of(steps, size), "bench")
    return [v for m, v in zip(records["metric"], records["value"]) if m == "step_time"]


def fixed_cost(size: str) -> dict:
    """Seconds from `dl-drawbacks run` start to the trial's first step, and the whole command."""
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "one.yaml"
        import yaml

        spec.write_text(yaml.safe_dump(spec_doc(50, size)))
        t0 = time.time()
        subprocess.run([sys.executable, "-m", "dl_drawbacks.cli", "run", str(spec), "--out", f"{tmp}/run"], check=True, capture_output=True)
        total = time.time() - t0
        trial_dir = next((Path(tmp) / "run" / "trials").iterdir())
        marker = json.loads((trial_dir / "trial.json").read_text())
        import polars as pl

        rows = pl.read_parquet(trial_dir / "rows.parquet")
        first = rows.filter(pl.col("metric") == "time_to_first_step")["value"][0]
        return {"command_s": total, "trial_wall_s": marker["wall_seconds"], "trial_start_to_first_step_s": first,
                "ray_and_tune_s": marker["started"] - t0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--size", default="m")
    ap.add_argument("--no-fixed-cost", action="store_true", help="skip the `dl-drawbacks run` fixed-cost part")
    args = ap.parse_args()
    warm = 20
    bare, fw = [], []
    print("load average at start: " + " ".join(f"{v:.1f}" for v in os.getloadavg()) + f" on {os.cpu_count()} CPUs")
    for r in range(args.repeats):  # interleaved, so machine noise hits both alike
        bare.append(statistics.fmean(bare_loop(args.steps, args.size)[warm:]))
        fw.append(statistics.fmean(framework_loop(args.steps, args.size)[warm:]))
        print(f"repeat {r}: bare {bare[-1] * 1e3:.3f} ms/step  framework {fw[-1] * 1e3:.3f} ms/step  "
              f"ratio {fw[-1] / bare[-1]:.3f}  (load {os.getloadavg()[0]:.1f})", flush=True)
    ratio = statistics.median(f / b for f, b in zip(fw, bare))
    print(f"\nmean steady-state step period (flush steps included), mlp/{args.size}, batch 64, {args.steps} steps "
          f"({warm} warm-up dropped) x {args.repeats} interleaved repeats; medians over repeats")
    print(f"{'bare PyTorch loop':<28}{statistics.median(bare) * 1e3:10.3f} ms")
    print(f"{'dl_drawbacks trial loop':<28}{statistics.median(fw) * 1e3:10.3f} ms")
    print(f"{'ratio (target <= 1.05)':<28}{ratio:10.3f}")
    if args.no_fixed_cost:
        return
    cost = fixed_cost(args.size)
    print("\nfixed cost of one `dl-drawbacks run` trial (50 steps):")
    for k, v in cost.items():
        print(f"  {k:<32}{v:8.2f} s")


if __name__ == "__main__":
    main()
