"""Running a list of planned trials as one Ray Tune grid: what every study does by default, and what a
study that drives Tune itself (the hparams search) uses for its fixed phases."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .spec.models import TrialSpec


@dataclass(frozen=True)
class TrialRunner:
    """Where and how the trials of one study run: the run folder, the W&B group, concurrency, retries."""

    run_dir: Path
    run_id: str
    progress: Any
    max_concurrent: int | None = None
    max_failures: int = 0
    checkpoint_every: int = 0

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
        tuner = tune.Tuner(
            trainable,
            param_space={
                "trial": tune.grid_search([t.model_dump(mode="json") for t in trials]),
                "run_dir": str(self.run_dir),
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
                storage_path=str(self.run_dir / "ray_tune"),
                verbose=0,
                callbacks=[self.progress.tune_callback(self.run_dir)],
            ),
        )
        tuner.fit()
