"""What a Tune task runs: one trial, or a batch of short single-worker ones in sequence, from settings to finished
rows files (``task_reports``), in the Tune trial's process or on a warm host (``tune_task.tune_trial``).

A single-worker trial trains right here; a multi-worker trial runs a Ray Train TorchTrainer whose workers call
``deepspeed.initialize``. Either way the rows land in the run folder atomically with a completion marker, and the
task reports each trial as it ends; the driver's one logger (``tracking.trial_logger``) logs its W&B run from those
rows. A failure inside a trial becomes a recorded ``failed`` outcome with its message; it never touches other
trials, those of its batch included.
"""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path
from typing import Any, Iterator

import polars as pl

from .launch import Launch
from .rows import ROW_SCHEMA, frame_from_records
from .spec.models import TrialSpec
from .storage import checkpoint_root, remove_checkpoints, trial_mirror
from .storage.run_folder import LocalRunFolder
from .train.checkpoint import KEEP_CHECKPOINTS
from .train.stream_trainer import trainer_data
from .train.worker import run_worker, train_worker


def scaling_config(trial: TrialSpec) -> Any:
    """The Ray Train workers of a multi-worker trial: one placement bundle per worker, spread as the spec says."""
    import ray.train

    t = trial.trainer
    return ray.train.ScalingConfig(
        num_workers=t.workers, use_gpu=t.use_gpu,
        resources_per_worker={"CPU": t.cpus_per_worker, **({"GPU": 1} if t.use_gpu else {})},
        placement_strategy=t.placement,
    )


def _fit_torch_trainer(launch: Launch, trial: TrialSpec) -> list[dict[str, list]]:
    import ray.train
    from ray.train.torch import TorchConfig, TorchTrainer

    t = trial.trainer
    data = trainer_data(trial)  # streamed data sets: Ray Data datasets sharded to the workers
    trainer = TorchTrainer(
        train_worker,
        train_loop_config=launch.alone(trial).to_config(),
        **data,
        scaling_config=scaling_config(trial),
        torch_config=TorchConfig(backend="nccl" if t.use_gpu else "gloo"),
        run_config=ray.train.RunConfig(
            name=trial.trial_id, storage_path=checkpoint_root(launch.address),
            failure_config=ray.train.FailureConfig(max_failures=launch.max_failures),
            checkpoint_config=ray.train.CheckpointConfig(num_to_keep=KEEP_CHECKPOINTS),
        ),
    )
    result = trainer.fit()
    return result.return_value


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"[:500]


def _train(launch: Launch, trial: TrialSpec) -> tuple[pl.DataFrame, str]:
    if trial.trainer.workers == 1:
        records = [run_worker(trial, launch.run_id, fault=launch.fault)]
    else:
        records = _fit_torch_trainer(launch, trial)
    rows = frame_from_records(records)
    diverged = rows.filter((pl.col("metric") == "diverged") & (pl.col("value") > 0)).height > 0
    return rows, "diverged" if diverged else "completed"


def execute_trial(launch: Launch, trial: TrialSpec, phases: dict[str, float] | None = None) -> dict[str, Any]:
    """Run one trial of ``launch`` and write its rows and marker; returns the marker's outcome fields. A run on a
    bucket (``launch.on_bucket``) writes into a local mirror on this node that goes to the bucket when the trial
    ends (rows, then marker: storage/sync.py). A trial that finished (not failed) has its Ray Train
    checkpoints removed; a failed one keeps them for a resume."""
    phases = {} if phases is None else phases
    if launch.on_bucket:
        with trial_mirror(launch.address, trial.trial_id, launch.fence) as local:
            outcome = _execute_here(launch, trial, Path(local), phases)
    else:
        outcome = _execute_here(launch, trial, Path(launch.address), phases)
    if outcome["status"] != "failed":
        remove_checkpoints(launch.address, trial.trial_id)
    return outcome


def _node_id() -> str | None:
    try:
        import ray

        return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None
    except Exception:  # outside a Ray worker: no node to name
        return None


def _execute_here(launch: Launch, trial: TrialSpec, run_dir: Path, phases: dict[str, float]) -> dict[str, Any]:
    """The trial in ``run_dir``, a local folder (the run folder, or a bucket run's mirror on this node).

    A full or read-only disk is the trial's failure too: when its rows cannot be written, an empty
    ``failed`` marker is tried; when even that fails, the error goes to Tune and the driver records it.
    """
    folder = LocalRunFolder(run_dir)
    started = time.time()
    error = None
    try:
        rows, status = _train(launch, trial)
    except Exception as exc:  # a trial's failure is its outcome, not the study's end
        rows, status, error = pl.DataFrame(schema=ROW_SCHEMA), "failed", _one_line(exc)
        try:
            folder.write_trial_error(trial.trial_id, traceback.format_exc())
        except OSError:  # the disk that failed the trial may refuse its traceback too; the marker says why
            pass
    outcome = {"status": status, "error": error, "started": started, "finished": time.time(),
               "wall_seconds": time.time() - started, "sweep": trial.sweep, "study": trial.study,
               "node_id": _node_id()}
    try:
        folder.write_trial(trial.trial_id, rows, outcome)
        phases["write_seconds"] = time.time() - outcome["finished"]
    except OSError as exc:
        outcome = {**outcome, "status": "failed", "error": f"cannot write the trial's rows: {_one_line(exc)}"}
        folder.write_trial(trial.trial_id, pl.DataFrame(schema=ROW_SCHEMA), outcome)
        return outcome
    return outcome


def task_reports(launch: Launch) -> Iterator[dict[str, Any]]:
    """Run the trials of a Tune task in order and yield each one's report (``tune_task.tune_trial`` hands them to
    ``ray.tune.report``). A trial whose outcome could not even be recorded does not stop the rest of its batch; the
    task then raises, and the driver records that trial (``progress.ProgressCallback``)."""
    unrecorded = None
    for trial in launch.trials:
        phases: dict[str, float] = {}
        try:
            outcome = execute_trial(launch, trial, phases)
        except Exception as exc:  # noqa: BLE001 - not even a failed marker could be written: raised below
            unrecorded = unrecorded or exc
            continue
        yield {"dl_trial_id": trial.trial_id, "dl_outcome": outcome["status"],
               "failed": float(outcome["status"] == "failed"), "wall_seconds": outcome["wall_seconds"],
               "left": time.time(), "trial_pid": os.getpid(), **phases}
    if unrecorded is not None:
        raise unrecorded
