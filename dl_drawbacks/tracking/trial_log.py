"""One W&B run per trial, logged from rank 0's rows once the trial has ended.

History: every per-step row (train loss, step time, evaluations) keyed ``<metric>/<split>``;
summary: every scalar row; config: the resolved trial spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from .settings import TrackingSettings
from .trial_run import TrialRun


def _key(metric: str, split: str, group: str) -> str:
    return "/".join(part for part in (metric, split, group) if part)


def log_trial(trial: dict[str, Any], rows: pl.DataFrame, *, run_dir: Path, run_id: str, status: str) -> None:
    settings = TrackingSettings.model_validate(trial["tracking"])
    if settings.mode == "disabled":
        return
    run = TrialRun.start(
        settings, run_dir, run_id=f"{run_id}-{trial['trial_id']}", name=trial["trial_id"],
        group=run_id, job_type=trial["study"], config=trial,
    )
    if not run.active:
        return
    chief = rows.filter(pl.col("rank") == 0)
    history: dict[int, dict[str, float]] = {}
    for m, s, g, step, v in chief.filter(pl.col("step").is_not_null()).select("metric", "split", "group", "step", "value").iter_rows():
        history.setdefault(step, {})[_key(m, s, g)] = v
    for step in sorted(history):
        run.log(history[step], step=int(step))
    scalars = chief.filter(pl.col("step").is_null())
    summary = {_key(m, s, g): v for m, s, g, v in scalars.select("metric", "split", "group", "value").iter_rows()}
    run.summary({**summary, "status": status})
    run.finish(exit_code=0)
