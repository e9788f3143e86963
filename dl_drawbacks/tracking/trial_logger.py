"""The run's one logger of trial runs: a driver thread that logs each trial to W&B from the rows and marker
the trial already wrote, so no trial process starts W&B (8-22 s in a fresh process, issue 28).

Ray Tune's callbacks hand it each finished trial (``LogTrials``); the thread logs them in order with
``trial_log.log_recorded_trial`` (same run names, keys, config, tags and group as the trial process logged
before), and ``close`` waits for the queue to drain. Whatever it has not logged when the run ends (the
driver killed, a trial ASHA stopped, a trial whose process died) is logged by ``log_unlogged_trials`` at
analysis: the ``wandb/logged`` record keeps every trial to one run.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from ..tune_runner import TrialEnds
from .settings import TrackingSettings
from .trial_log import OUTCOMES, log_recorded_trial, logged_status

log = logging.getLogger(__name__)

_DONE = None  # the queue's last item


class TrialLogger:
    """A queue and one thread; ``submit(trial)`` returns at once, ``close()`` logs what is queued and stops."""

    def __init__(self, run_dir: Path, *, settings: TrackingSettings, group: str) -> None:
        self.run_dir, self.settings, self.group = Path(run_dir), settings, group
        self.logged = 0
        self.seconds = 0.0  # spent logging, off every trial's slot
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None

    def submit(self, trial: Mapping[str, Any]) -> None:
        """Log ``trial`` (its spec as planned) once its marker says an outcome; a no-op with tracking disabled."""
        if self.settings.mode == "disabled":
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._drain, name="wandb-trial-logger", daemon=True)
            self._thread.start()
        self._queue.put(dict(trial))

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(_DONE)
            self._thread.join()
            self._thread = None

    def __enter__(self) -> "TrialLogger":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def callback(self, trials_of: Callable[[Any], list[Any]]) -> "LogTrials":
        """A Tune callback that submits the trials ``trials_of(tune_trial)`` names, as each ends."""
        return LogTrials(self, trials_of)

    def _drain(self) -> None:
        while (trial := self._queue.get()) is not _DONE:
            t0 = time.perf_counter()
            try:
                self._log(trial)
            except Exception as exc:  # noqa: BLE001 - W&B never stops a run; analysis retries what is unlogged
                log.warning("W&B run of trial %s not logged: %s: %s", trial.get("trial_id"), type(exc).__name__, exc)
            self.seconds += time.perf_counter() - t0

    def _log(self, trial: Mapping[str, Any]) -> None:
        from ..errors import RunFolderError
        from ..storage.run_folder import LocalRunFolder

        trial_id = trial["trial_id"]
        try:
            marker = LocalRunFolder(self.run_dir).marker(trial_id)
        except (OSError, RunFolderError):  # damaged: the resume check names it
            return
        if marker is None or marker.status not in OUTCOMES or logged_status(self.run_dir, trial_id) == marker.status:
            return
        self.logged += log_recorded_trial(self.run_dir, trial_id, settings=self.settings, group=self.group,
                                          trial=trial)


class LogTrials(TrialEnds):
    """Submits each planned trial of a Tune task to the run's logger as it ends (after the callbacks before it in
    the list pulled its rows and wrote its progress line)."""

    def __init__(self, logger: TrialLogger, trials_of: Callable[[Any], list[Any]]) -> None:
        super().__init__(trials_of)
        self.logger = logger

    def ended(self, trial: Any, tune_trial: Any, error: bool) -> None:  # a planned ``TrialSpec``
        self.logger.submit(trial.model_dump(mode="json"))

    def __getstate__(self) -> dict:  # the logger's thread stays with the driver
        return {**super().__getstate__(), "logger": None}
