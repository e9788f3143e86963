"""One W&B run per trial, safe inside Ray workers.

Only rank 0 of a trial logs; the other ranks get a no-op run. W&B can never fail a trial: an
import error, an init error or a full disk logs one warning and turns the run into a no-op, because
the parquet rows, not W&B, are the study's record. The run id is the trial id and ``resume="allow"``,
so a restarted trial continues the same W&B run. Files land in ``run_dir/wandb/``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

from dl_drawbacks.tracking.run_setup import run_mode
from dl_drawbacks.tracking.settings import TrackingSettings, redact

log = logging.getLogger(__name__)

# Keeps wandb cheap and quiet in a Ray worker: no console capture (Ray already captures stdout),
# no code/git/requirements snapshot, no system-stats sampler thread, no machine probe.
# Names move between wandb versions; only those this wandb's Settings declares are passed.
WORKER_SETTINGS: dict[str, Any] = {
    "console": "off",
    "save_code": False,
    "disable_code": True,
    "disable_git": True,
    "disable_job_creation": True,
    "x_save_requirements": False,
    "x_disable_stats": True,
    "x_disable_machine_info": True,
    "quiet": True,
    "silent": True,
}


def worker_settings(wandb_module: Any) -> Any:
    """A ``wandb.Settings`` with those of :data:`WORKER_SETTINGS` that this wandb knows."""
    fields = wandb_module.Settings.model_fields
    unknown = sorted(set(WORKER_SETTINGS) - set(fields))
    if unknown:
        log.debug("wandb %s lacks settings %s; left at their defaults", wandb_module.__version__, unknown)
    return wandb_module.Settings(**{k: v for k, v in WORKER_SETTINGS.items() if k in fields})


class TrialRun:
    """A W&B run that logs metrics, summary values and finishes; a no-op when inactive."""

    def __init__(self, run: Any = None, *, run_id: str = "") -> None:
        self._run = run
        self._run_id = run_id

    @classmethod
    def start(
        cls,
        settings: TrackingSettings,
        run_dir: str | Path,
        *,
        run_id: str,
        name: str,
        group: str,
        job_type: str,
        config: dict,
        tags: tuple[str, ...] = (),
        rank: int = 0,
    ) -> "TrialRun":
        """Start (or resume) the run ``run_id`` under ``run_dir/wandb``; never raises.

        The mode is the run folder's (decided once by the driver, see ``run_setup``)."""
        if rank != 0:
            return cls(run_id=run_id)
        mode = run_mode(Path(run_dir), settings)
        if mode == "disabled":
            return cls(run_id=run_id)
        try:
            import wandb

            run_dir = Path(run_dir)
            run_dir.mkdir(parents=True, exist_ok=True)
            run = wandb.init(
                project=settings.project,
                entity=settings.entity,
                id=run_id,
                name=name,
                group=group,
                job_type=job_type,
                tags=list(dict.fromkeys([*settings.tags, *tags])),
                config=redact(dict(config)),
                dir=str(run_dir),
                mode=mode,
                resume="allow",
                reinit="create_new",
                settings=worker_settings(wandb),
            )
        except Exception as exc:  # noqa: BLE001 - W&B must never fail a trial
            _warn(run_id, "start", exc)
            return cls(run_id=run_id)
        return cls(run, run_id=run_id)

    @property
    def raw(self) -> Any:
        """The wandb run (for artifacts), or None when inactive."""
        return self._run

    @property
    def active(self) -> bool:
        """True while a real W&B run receives what is logged."""
        return self._run is not None

    def log(self, metrics: Mapping[str, Any], *, step: int) -> None:
        """Log one row of metrics at ``step`` (W&B drops steps lower than one already logged)."""
        if self._run is not None:
            self._call("log", lambda run: run.log(dict(metrics), step=int(step)))

    def summary(self, values: Mapping[str, Any]) -> None:
        """Set summary values (the numbers the W&B runs table shows)."""
        if self._run is not None:
            self._call("summary", lambda run: run.summary.update(redact(dict(values))))

    def finish(self, *, exit_code: int = 0) -> None:
        """Close the run; later calls are no-ops."""
        if self._run is not None:
            run, self._run = self._run, None
            try:
                run.finish(exit_code=exit_code)
            except Exception as exc:  # noqa: BLE001
                _warn(self._run_id, "finish", exc)

    def __enter__(self) -> "TrialRun":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.finish(exit_code=0 if exc_type is None else 1)

    def _call(self, what: str, fn: Any) -> None:
        try:
            fn(self._run)
        except Exception as exc:  # noqa: BLE001
            _warn(self._run_id, what, exc)
            self.finish(exit_code=1)


def _warn(run_id: str, what: str, exc: BaseException) -> None:
    log.warning("W&B tracking off for run %s: %s failed: %s: %s", run_id, what,
                type(exc).__name__, redact(str(exc)))
