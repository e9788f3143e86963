"""Framework overhead on one worker: the trial's training loop (with its instruments and rows) against a
bare PyTorch loop on the same model, data and step count, interleaved in one process; then the fixed
cost of a whole `dl-drawbacks run` trial (Ray start, Tune trial, data, model) until its first step.

    python benchmarks/overhead.py [--steps 400] [--repeats 5] [--size m]

Both loops are timed the same way, as the period from one step's start to the next one's, so everything
the framework does between steps (row bookkeeping, loss reads every 10 steps, divergence check, hooks) is
inside the timed window. Prints per-step medians (steady state, after warm-up) of each repeat, the median
ratio over repeats; target on 2 CPU cores <= 1.05.
"""

from __future__ import annotations

import argparse
import json
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
        "trainer": {"deepspeed": {"micro_batch": 64}, "budget": {"steps": steps, "eval_every": steps, "warmup_steps": 20}}}]}


def bare_loop(steps: int, size: str, seed: int = 0) -> list[float]:
    """What a user would write: the same batches (same shuffling), AdamW, cross-entropy, loss.item() every step."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    ds = load_dataset("digits")
    model = MLP(resolve_params("mlp", size, {}), DataShape("image", 64, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    n = len(ds.y_train)
    starts, epoch, order, pos = [], 0, np.random.default_rng([seed, 0]).permutation(n), 0
    for _ in range(steps):
        starts.append(time.perf_counter())
        if pos + 64 > n:
            epoch, pos = epoch + 1, 0
            order = np.random.default_rng([seed, epoch]).permutation(n)
        idx = order[pos : pos + 64]
        pos += 64
        x, y = torch.as_tensor(ds.x_train[idx]), torch.as_tensor(ds.y_train[idx])
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()
    starts.append(time.perf_counter())
    return [b - a for a, b in zip(starts[:-1], starts[1:])]


def framework_loop(steps: int, size: str) -> list[float]:
    trial = plan(parse_spec(spec_doc(steps, size)))[0]
    records = run_worker(trial.model_dump(mode="json"), "bench")
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
    args = ap.parse_args()
    warm = 20
    bare, fw = [], []
    for r in range(args.repeats):  # interleaved, so machine noise hits both alike
        bare.append(statistics.median(bare_loop(args.steps, args.size)[warm:]))
        fw.append(statistics.median(framework_loop(args.steps, args.size)[warm:]))
        print(f"repeat {r}: bare {bare[-1] * 1e3:.3f} ms/step  framework {fw[-1] * 1e3:.3f} ms/step  ratio {fw[-1] / bare[-1]:.3f}")
    ratio = statistics.median(f / b for f, b in zip(fw, bare))
    print(f"\nsteady-state per-step time, mlp/{args.size}, batch 64, {args.steps} steps x {args.repeats} interleaved repeats")
    print(f"{'bare PyTorch loop':<28}{statistics.median(bare) * 1e3:10.3f} ms")
    print(f"{'dl_drawbacks trial loop':<28}{statistics.median(fw) * 1e3:10.3f} ms")
    print(f"{'ratio (target <= 1.05)':<28}{ratio:10.3f}")
    cost = fixed_cost(args.size)
    print("\nfixed cost of one `dl-drawbacks run` trial (50 steps):")
    for k, v in cost.items():
        print(f"  {k:<32}{v:8.2f} s")


if __name__ == "__main__":
    main()
