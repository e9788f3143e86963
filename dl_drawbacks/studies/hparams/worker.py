"""The trial side of a search trial (1 worker, in its Tune trial's process or on a warm host:
``tune_task.stepwise``).

A search trial's treatment says ``tune_reports: true``; nothing else tells the worker it is one.
At every intermediate evaluation the trial snapshots its rows so far into a Tune checkpoint and
reports the validation accuracy with it (``ray.tune.report(metrics, checkpoint=...)``): when ASHA
stops the trial after that report, the driver reads the trial's last checkpoint from the result grid
and turns it into the trial's rows with outcome ``stopped_early`` (``runner.finalize_stopped``). The
final evaluation is not reported from the loop; the trial function reports it after its rows and
marker are written, so a stop decision can never cut a finished trial short.

Energy of a stopped trial comes from the same meters as a completed trial's (``measure.energy``:
NVML, RAPL, else the labelled estimate), over the same window: from the start of training to its
last evaluation (a completed trial: to its end). Set-up time is in neither.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import polars as pl
import torch

from ...launch import Launch
from ...rows import RowBuffer
from ...spec.models import TrialSpec
from ...storage.run_folder import LocalRunFolder

PARTIAL = "partial.parquet"  # the rows snapshot inside a search trial's Tune checkpoint
SEARCH_ENTRY = f"{__name__}:search_result"  # what ``tune_task.stepwise`` runs for a search trial


def start_window(ctx) -> None:
    """Start the training-window meters of a search trial (chief only; called just before training)."""
    from ...measure.energy import meters_for_worker

    meters = meters_for_worker(local_rank=ctx.local_rank, use_gpu=ctx.trial.trainer.use_gpu,
                               cpu_watts_per_core=ctx.trial.measure.cpu_watts_per_core)
    for meter in meters:
        meter.start()
    ctx.info["window"] = {"meters": meters, "joules": [0.0] * len(meters), "t0": time.perf_counter()}


def snapshot_rows(ctx, *, step: int, epoch: int) -> pl.DataFrame:
    """The trial's rows so far plus what its end would have recorded: steps, time, energy of the window."""
    t, window = ctx.trial, ctx.info["window"]
    extra = RowBuffer(t.study, ctx.run_id, t.trial_id, t.seed, t.factors, rank=ctx.rank)
    extra.add("stopped_early", 1.0, "bool", step=step, epoch=epoch)
    extra.add("steps", step, "count")
    extra.add("wall_time_to_end", time.perf_counter() - ctx.info["t_start"], "s")
    for i, meter in enumerate(window["meters"]):  # read and restart: every meter kind supports it
        window["joules"][i] += meter.stop()
        meter.start()
        extra.add("energy", window["joules"][i], "J", group=meter.device, provenance=meter.provenance)
    device = "gpu" if ctx.device.type == "cuda" else f"cpu:{torch.get_num_threads()}"
    extra.add("device_seconds", time.perf_counter() - window["t0"], "s", group=device)
    return pl.concat([ctx.rows.frame(), extra.frame()])


def report_eval(ctx, *, step: int, epoch: int, metrics: dict[str, dict[str, float]], final: bool) -> None:
    """Snapshot into a checkpoint, then report the validation accuracy to the trial's scheduler."""
    if not ctx.treatment.tune_reports or not ctx.is_chief or final:
        return
    from ...step_reports import report_step

    result = {"objective": float(metrics["val"]["accuracy"]), "epoch": epoch, "step": step,
              "dl_trial_id": ctx.trial.trial_id}
    snapshot = io.BytesIO()
    snapshot_rows(ctx, step=step, epoch=epoch).write_parquet(snapshot)
    report_step(result, {PARTIAL: snapshot.getvalue()})  # a stopped trial ends here (Tune's exit, or StopTrial)


def final_objective(run_dir: Path, trial_id: str, outcome: dict[str, Any]) -> float:
    """Validation accuracy at the last evaluation of a finished trial (chance if it diverged)."""
    if outcome["status"] == "failed":
        return 0.0
    rows = pl.read_parquet(LocalRunFolder(run_dir).rows_file(trial_id))
    if outcome["status"] == "diverged":
        chance = rows.filter(pl.col("metric") == "chance_accuracy")["value"]
        return float(chance[0]) if chance.len() else 0.0
    val = rows.filter((pl.col("metric") == "accuracy") & (pl.col("split") == "val")).sort("step")["value"]
    return float(val[-1]) if val.len() else 0.0


def planned_trial(config: dict[str, Any]) -> tuple[Launch, TrialSpec]:
    """The launch of a search task (parsed once) and the trial it runs: its one planned trial, or (TPE) the trial
    built from its base and the configuration Tune's searcher sampled (``hp``, the only other key of the config).
    The driver's callbacks build it the same way from the task's config."""
    launch = Launch.of_task(config)
    if "hp" not in config:
        return launch, launch.trial
    from .trials import make_trial

    base = launch.trial
    trial = make_trial(base, dict(config["hp"]), sweep=base.sweep, seed=base.seed, tune_reports=True)
    return launch.alone(trial), trial


def search_trials(tune_trial: Any) -> list[TrialSpec]:
    """The planned trials of a search task, for the driver's callbacks (``tune_runner.TrialEnds``)."""
    return [planned_trial(tune_trial.config)[1]]


def search_result(config: dict[str, Any]) -> dict[str, Any]:
    """Run a search trial (its evaluations reported as they come) and return its final report."""
    launch, trial = planned_trial(config)
    if launch.on_bucket:  # a bucket run: this node works in a mirror of the trial's objects (storage/sync.py)
        from ...storage import trial_mirror

        with trial_mirror(launch.address, trial.trial_id, launch.fence) as local:
            result = _search_trial_in(launch.model_copy(update={"address": str(local), "fence": None}), trial)
    else:
        result = _search_trial_in(launch, trial)
    return result


def _search_trial_in(launch: Launch, trial: TrialSpec) -> dict[str, Any]:
    """Run (or, when TPE re-proposes a finished one on resume, read) the trial in the local folder at
    ``launch.address``: its final report."""
    from ...trial import execute_trial

    run_dir = Path(launch.address)
    folder = LocalRunFolder(run_dir)
    if folder.is_finished(trial.trial_id):
        outcome = dict(folder.marker(trial.trial_id).fields)
    else:
        outcome = execute_trial(launch, trial)
    return {"objective": final_objective(run_dir, trial.trial_id, outcome), "dl_trial_id": trial.trial_id,
            "dl_outcome": outcome["status"]}
