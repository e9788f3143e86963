"""Sweep efficiency on this machine: a grid of short trials through `dl-drawbacks run`, its wall time against
the ideal (sum of training time / slots) and where each trial's slot time goes.

    python benchmarks/sweep.py [--trials 200] [--epochs 20] [--slots 2] [--out /tmp/sweep-bench]

Target (issue 28): 200 one-second trials within 1.5x the ideal. The overhead split per trial, from the trial's own
records (its marker and rows, the Tune result of its task, the driver logger's record):
  start   slot time outside any trial task: Ray/Tune scheduling, worker process start, idle slots
  set-up  in the trial, before and after training: imports, data, model, FLOP count, the kind's evaluation
  train   the training windows (warm-up + steady state)
  eval    the evaluation windows during training
  write   the rows file and marker
  log     the W&B run, where the trial process logs it (0 since the driver's logger does; its time is printed
          apart, off the slots)
The wall of the trial phase runs from the start of the first Tune experiment to the last task's end; the
whole command adds Ray start-up, planning and analysis. The box is shared: every time is an upper bound, and
the load average is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import polars as pl
import yaml


def spec(trials: int, epochs: int, size: str, slots: int, tracking: str) -> dict:
    return {"name": "sweep-bench", "version": 1, "tracking": {"mode": tracking}, "studies": [{
        "kind": "overfitting", "data": {"name": "digits"}, "model": {"family": "mlp", "size": size},
        "execution": {"max_concurrent_trials": slots},
        "trainer": {"micro_batch": 64, "budget": {"epochs": epochs}},
        "seeds": list(range(trials))}]}


def _tune_tasks(run: Path) -> list[dict]:
    """Every Tune task of the run: its span and the write time of its trials (tune_trial reports one result per
    trial it ran, each with the task's start, the time of the report and the trial's write time)."""
    out = []
    for path in (run / "ray_tune").glob("*/*/result.json"):
        results = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        results = [r for r in results if "entered" in r]
        if results:
            out.append({"entered": results[0]["entered"], "left": max(r["left"] for r in results),
                        "pid": results[0].get("pid"), "trials": [r["dl_trial_id"] for r in results],
                        "write_seconds": sum(r.get("write_seconds", 0.0) for r in results),
                        "log_seconds": sum(r.get("log_seconds", 0.0) for r in results)})
    return out


def _processes(tasks: list[dict], per: pl.DataFrame, first: float) -> dict:
    """Per trial process (a reused Tune actor): when its first task entered, counted from the experiment's start
    (worker start and the trial module's imports), and its first trial's set-up against the others' median (what
    a fresh process pays once: imports on the trial path, the first FLOP count, allocator warm-up)."""
    by_pid: dict = {}
    for t in sorted(tasks, key=lambda t: t["entered"]):
        by_pid.setdefault(t["pid"], []).append(t)
    setup = dict(zip(per["trial_id"], per["setup"]))
    firsts = [ts[0]["trials"][0] for ts in by_pid.values()]
    rest = [v for k, v in setup.items() if k not in firsts]
    return {"n": len(by_pid), "actor_start": [ts[0]["entered"] - first for ts in by_pid.values()],
            "first_setup": [setup.get(k, 0.0) for k in firsts],
            "other_setup_median": float(pl.Series(rest).median()) if rest else 0.0,
            "gaps": sum(b["entered"] - a["left"] for ts in by_pid.values() for a, b in zip(ts, ts[1:]))}


def _driver_log_seconds(run: Path) -> float:
    """W&B logging done by the driver's logger (its record per trial says how long it took)."""
    return sum(json.loads(p.read_text()).get("seconds") or 0.0 for p in (run / "wandb" / "logged").glob("*.json"))


def _experiments_started(run: Path) -> float:
    """When the first Tune experiment of the run started (the local time in its state file's name)."""
    stamps = [p.name.removeprefix("experiment_state-").removesuffix(".json")
              for p in (run / "ray_tune").glob("*/experiment_state-*.json")]
    return min(datetime.strptime(s, "%Y-%m-%d_%H-%M-%S").timestamp() for s in stamps)


def _metric(rows: pl.DataFrame, name: str) -> pl.DataFrame:
    return rows.filter(pl.col("metric") == name).group_by("trial_id").agg(pl.col("value").sum().alias(name))


def measure(run: Path, slots: int) -> dict:
    rows = pl.scan_parquet(str(run / "trials" / "*" / "rows.parquet")).select("trial_id", "metric", "value").filter(
        pl.col("metric").is_in(["time_warmup", "time_steady", "time_eval", "train_time"])).collect()
    markers = pl.DataFrame([{"trial_id": p.parent.name, **{k: json.loads(p.read_text()).get(k)
                             for k in ("status", "started", "finished")}}
                            for p in (run / "trials").glob("*/trial.json")])
    per = markers
    for name in ("time_warmup", "time_steady", "time_eval", "train_time"):
        per = per.join(_metric(rows, name), on="trial_id", how="left")
    per = per.fill_null(0.0).with_columns(
        train=pl.col("time_warmup") + pl.col("time_steady"), eval=pl.col("time_eval"),
        setup=pl.col("finished") - pl.col("started") - pl.col("train_time"))
    tasks = _tune_tasks(run)
    first = _experiments_started(run)
    n = per.height
    if not tasks:  # code that does not report its task spans (before issue 28): the trials' own records only
        phase_wall = float(per["finished"].max()) - first
        split = {"start": None, "set-up": per["setup"].mean(), "train": per["train"].mean(),
                 "eval": per["eval"].mean(), "write": None, "log": None}
    else:
        phase_wall = max(t["left"] for t in tasks) - first
        split = {
            "start": (phase_wall * slots - sum(t["left"] - t["entered"] for t in tasks)) / n,
            "set-up": per["setup"].mean(),
            "train": per["train"].mean(),
            "eval": per["eval"].mean(),
            "write": sum(t["write_seconds"] for t in tasks) / n,
            "log": sum(t["log_seconds"] for t in tasks) / n,
        }
    processes = _processes(tasks, per, first) if tasks else None
    driver_log = _driver_log_seconds(run) / n
    train_sum = float(per["train"].sum())
    return {"trials": n, "tasks": len(tasks), "completed": per.filter(pl.col("status") == "completed").height,
            "phase_wall": phase_wall, "train_sum": train_sum, "ideal": train_sum / slots, "split": split,
            "driver_log": driver_log, "processes": processes}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=20,
                    help="20 epochs of mlp/s on digits take ~0.9 s of training on one idle core (measured 2026-12-07; "
                         "6 epochs, the old default, took 0.31 s: a grid of third-of-a-second trials, not the "
                         "target's one-second ones)")
    ap.add_argument("--size", default="s")
    ap.add_argument("--slots", type=int, default=2, help="trials at once (the local Ray cluster has one CPU per core)")
    ap.add_argument("--tracking", default="offline", choices=["offline", "disabled"])
    ap.add_argument("--out", default=None)
    ap.add_argument("--code", default=None, help="run another checkout's package (PYTHONPATH), e.g. a baseline")
    args = ap.parse_args()
    tmp = Path(args.out or tempfile.mkdtemp(prefix="sweep-bench-"))
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / "spec.yaml").write_text(yaml.safe_dump(spec(args.trials, args.epochs, args.size, args.slots, args.tracking)))
    env = {**os.environ, **({"PYTHONPATH": args.code} if args.code else {}), "WANDB_MODE": args.tracking,
           "WANDB_SILENT": "true", "WANDB_DIR": str(tmp)}
    load0 = os.getloadavg()[0]
    t0 = time.time()
    with open(tmp / "driver.txt", "w") as log:
        subprocess.run([sys.executable, "-m", "dl_drawbacks.cli", "run", str(tmp / "spec.yaml"), "--out",
                        str(tmp / "run")], check=True, stdout=log, stderr=subprocess.STDOUT, env=env,
                       cwd=tmp)  # not a checkout's folder: `python -m` puts the working folder before PYTHONPATH
    wall = time.time() - t0
    m = measure(tmp / "run", args.slots)
    load1 = os.getloadavg()[0]
    print(f"{m['trials']} trials of mlp/{args.size} on digits, {args.epochs} epochs each ({m['completed']} completed), "
          f"{m['tasks']} Tune tasks, {args.slots} slots; load average {load0:.1f} at start, {load1:.1f} at end "
          f"(a shared box: times are upper bounds)")
    print(f"  whole command                 {wall:8.1f} s")
    print(f"  trial phase wall              {m['phase_wall']:8.1f} s")
    print(f"  ideal (sum of train / slots)  {m['ideal']:8.1f} s   (sum of train {m['train_sum']:.1f} s)")
    print(f"  wall / ideal                  {m['phase_wall'] / m['ideal']:8.2f} x   (target <= 1.5)")
    print(f"  whole command / ideal         {wall / m['ideal']:8.2f} x   (Ray start-up, planning, analysis and report "
          f"included)")
    print(f"  slot-seconds in training      {m['train_sum'] / (m['phase_wall'] * args.slots):8.1%}")
    work = m["train_sum"] + m["split"]["eval"] * m["trials"]
    print(f"  wall / (train + evaluation)   {m['phase_wall'] * args.slots / work:8.2f} x   (the study's own evaluation "
          f"windows counted as work, not overhead)")
    split = ", ".join(f"{k} {'n/a' if v is None else f'{v:.2f}'}" for k, v in m["split"].items())
    print(f"  per-trial split of slot time (mean s): {split}")
    print(f"  W&B logging by the driver's logger, off the slots: {m['driver_log']:.2f} s per trial")
    if m["processes"]:
        p = m["processes"]
        print(f"  {p['n']} trial processes: first task entered "
              f"{', '.join(f'{s:.1f}' for s in p['actor_start'])} s after the experiment started; first trial's "
              f"set-up {', '.join(f'{s:.1f}' for s in p['first_setup'])} s (other trials' median "
              f"{p['other_setup_median']:.2f} s); {p['gaps']:.1f} s between tasks on the same process")


if __name__ == "__main__":
    main()
