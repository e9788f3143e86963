"""The Tune trial side of a search trial (1 worker, in the Tune trial process).

At every intermediate evaluation the trial first writes its rows so far to
``trials/<id>/partial.parquet`` (atomically) and only then calls ``ray.tune.report``: when ASHA
stops the trial, Tune ends its process after that report, and the driver turns the last snapshot
into the trial's rows with outcome ``stopped_early`` (see ``runner.finalize_stopped``). The final
evaluation is not reported from the loop; the trial function reports it after its rows and
marker are written, so a stop decision can never cut a finished trial short.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from ...rows import RowBuffer
from ...store import is_finished, read_marker, trial_dir

PARTIAL = "partial.parquet"
ACTIVE: dict[str, Any] = {}  # set by search_trial in this process: {"run_dir": str}


def write_snapshot(run_dir: Path, ctx, *, step: int, epoch: int) -> None:
    t = ctx.trial
    extra = RowBuffer(t.study, ctx.run_id, t.trial_id, t.seed, t.factors, rank=ctx.rank)
    seconds = time.perf_counter() - ctx.info["t_start"]
    cores = t.trainer.cpus_per_worker * t.trainer.workers
    extra.add("stopped_early", 1.0, "bool", step=step, epoch=epoch)
    extra.add("steps", step, "count")
    extra.add("wall_time_to_end", seconds, "s")
    # the process is killed before the energy meters are read: watts/core x cores x seconds (an estimate)
    extra.add("energy", t.measure.cpu_watts_per_core * cores * seconds, "J", group="cpu", provenance="estimate")
    frame = pl.concat([ctx.rows.frame(), extra.frame()])
    folder = trial_dir(run_dir, t.trial_id)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".partial.", suffix=".tmp")
    os.close(fd)
    frame.write_parquet(tmp)
    os.replace(tmp, folder / PARTIAL)


def report_eval(ctx, *, step: int, epoch: int, metrics: dict[str, dict[str, float]], final: bool) -> None:
    """Snapshot, then report the validation accuracy to the Tune scheduler (chief, search trials only)."""
    if not ACTIVE or not ctx.is_chief or final:
        return
    from ray import tune

    write_snapshot(Path(ACTIVE["run_dir"]), ctx, step=step, epoch=epoch)
    tune.report({"objective": float(metrics["val"]["accuracy"]), "epoch": epoch, "step": step})


def final_objective(run_dir: Path, trial_id: str, outcome: dict[str, Any]) -> float:
    """Validation accuracy at the last evaluation of a finished trial (chance if it diverged)."""
    if outcome["status"] == "failed":
        return 0.0
    rows = pl.read_parquet(trial_dir(run_dir, trial_id) / "rows.parquet")
    if outcome["status"] == "diverged":
        chance = rows.filter(pl.col("metric") == "chance_accuracy")["value"]
        return float(chance[0]) if chance.len() else 0.0
    val = rows.filter((pl.col("metric") == "accuracy") & (pl.col("split") == "val")).sort("step")["value"]
    return float(val[-1]) if val.len() else 0.0


def search_trial(config: dict[str, Any]) -> None:
    """Tune trainable of a search trial: train (reporting evaluations), then report the final objective."""
    from ray import tune

    from ...trial import execute_trial

    run_dir = Path(config["run_dir"])
    trial = config["trial"]
    if "base" in config:  # TPE: the trial is built here from the sampled configuration
        from ...spec.models import TrialSpec
        from .trials import make_trial

        base = TrialSpec.model_validate(config["base"])
        hp = {k: config["hp"][k] for k in config["hp"]}
        trial = make_trial(base, hp, sweep=config["sweep"], seed=base.seed).model_dump(mode="json")
    ACTIVE["run_dir"] = str(run_dir)
    if is_finished(run_dir, trial["trial_id"]):  # TPE proposed a configuration already run (resume)
        outcome = read_marker(run_dir, trial["trial_id"])
    else:
        outcome = execute_trial({**config, "trial": trial})
    tune.report({"objective": final_objective(run_dir, trial["trial_id"], outcome), "dl_trial_id": trial["trial_id"],
                 "status": outcome["status"]})
