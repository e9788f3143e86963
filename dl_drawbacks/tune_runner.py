"""Running a list of planned trials as one Ray Tune grid: what every study does by default, and what a
study that drives Tune itself (the hparams search) uses for its fixed phases."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ray.tune import Callback

from .errors import RunFolderError
from .spec.models import TrialSpec
from .storage.run_folder import DRIVER_LOG, RAY_TUNE, LocalRunFolder


class PullTrial(Callback):
    """Before the progress line of a trial: its rows and marker from the bucket into the staging folder, and
    the driver log to the bucket (so a killed driver's log is there up to its last finished trial)."""

    def __init__(self, staged: Any) -> None:
        self.staged = staged

    def _pull(self, trial) -> None:
        try:
            self.staged.pull_trial(trial.config["trial"]["trial_id"])
            self.staged.push_file(DRIVER_LOG)
        except (OSError, RunFolderError) as exc:  # unreachable now (the pull after the study catches up), or damaged
            print(f"cannot copy trial {trial.config['trial']['trial_id']} from the bucket now ({exc})", file=sys.stderr)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self._pull(trial)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self._pull(trial)

    def __getstate__(self) -> dict:  # Tune pickles its run config; the staging folder stays with the driver
        return {"staged": None}


@dataclass(frozen=True)
class TrialRunner:
    """Where and how the trials of one study run: the run folder, the W&B group, concurrency, retries."""

    run_dir: Path
    run_id: str
    progress: Any
    max_concurrent: int | None = None
    max_failures: int = 0
    checkpoint_every: int = 0
    staged: Any = None  # storage.StagedRun of a run on a bucket: trials write there, the driver pulls

    @property
    def folder(self) -> LocalRunFolder:
        """The run folder the driver reads and writes (a bucket run's staging folder)."""
        return LocalRunFolder(self.run_dir)

    @property
    def run_uri(self) -> str | None:
        return self.staged.bucket.uri if self.staged is not None else None

    def run(self, trials: list[TrialSpec], *, max_concurrent: int | None = None) -> None:
        """One Tune grid over ``trials`` (each a Tune trial running ``trial.tune_trial``)."""
        if not trials:
            return
        from ray import tune

        from .cluster import tune_trial_resources
        from .train.checkpoint import fault_from_env
        from .trial import tune_trial

        by_id = {t.trial_id: t for t in trials}
        trainable = tune.with_resources(
            tune_trial, resources=lambda cfg: tune_trial_resources(by_id[cfg["trial"]["trial_id"]])
        )
        pull = [PullTrial(self.staged)] if self.staged else []  # before the progress line reads the marker
        tuner = tune.Tuner(
            trainable,
            param_space={
                "trial": tune.grid_search([t.model_dump(mode="json") for t in trials]),
                "run_dir": str(self.run_dir),
                "run_uri": self.run_uri,
                "run_id": self.run_id,
                "max_failures": self.max_failures,
                "checkpoint_every": self.checkpoint_every,
                "fault": fault_from_env(),
            },
            tune_config=tune.TuneConfig(
                max_concurrent_trials=max_concurrent or self.max_concurrent,
                reuse_actors=True,
                trial_dirname_creator=lambda t: t.config["trial"]["trial_id"],
            ),
            run_config=tune.RunConfig(
                name=f"tune-{trials[0].study}",  # fixed: Tuner.restore finds it again
                storage_path=f"{self.run_uri}/{RAY_TUNE}" if self.run_uri else str(self.run_dir / RAY_TUNE),
                verbose=0,
                callbacks=[*pull, self.progress.tune_callback(self.run_dir)],
            ),
        )
        tuner.fit()
