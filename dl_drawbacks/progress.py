"""Terminal progress of a run: trials done / total, elapsed, ETA; one line per finished trial, named by its
factors (``mlp/s lr=0.003 seed=1``, labels.py) and its id."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


from .errors import RunFolderError
from .storage.run_folder import LocalRunFolder
from .tune_runner import TrialEnds


def silence_tune_output() -> None:
    """Keep Ray Tune's own console output off the terminal (this module's lines say what ran): its new output
    engine prints an experiment banner and a TensorBoard hint into Ray's temporary folders whatever the
    ``verbose`` level; the legacy reporter, which Tune uses with ``RAY_AIR_NEW_OUTPUT=0``, honours ``verbose=0``
    (ray/tune/experimental/output.py ``get_air_verbosity``)."""
    os.environ["RAY_AIR_NEW_OUTPUT"] = "0"


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    def __init__(self, *, total: int, done: int = 0, stream=None, labels: dict[str, str] | None = None) -> None:
        self.total, self.done, self.skipped = total, done, done
        self.labels = labels or {}
        self.t0 = time.time()
        self.stream = stream or sys.stderr
        if done:
            self.line(f"resuming: {done} of {total} trials already finished")

    def line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def trial_finished(self, trial_id: str, status: str, wall: float | None) -> None:
        self.done += 1
        elapsed = time.time() - self.t0
        ran = self.done - self.skipped
        eta = elapsed / ran * (self.total - self.done) if ran else 0.0
        wall_text = f"{wall:6.1f}s" if wall is not None else "      "
        label = self.labels.get(trial_id)
        self.line(
            f"[{self.done:>3}/{self.total}] {status:<9} {wall_text}  elapsed {_clock(elapsed)}  ETA {_clock(eta)}  "
            + (f"{label} ({trial_id})" if label else trial_id)
        )

    def tune_callback(self, run_dir: Path, trials_of=None) -> "ProgressCallback":
        """One line per planned trial as it ends; ``trials_of(tune_trial)`` names a task's planned trials."""
        from .tune_runner import grid_trials

        return ProgressCallback(self, run_dir, trials_of or grid_trials)


class ProgressCallback(TrialEnds):
    def __init__(self, progress: Progress, run_dir: Path, trials_of) -> None:
        super().__init__(trials_of)
        self.progress, self.run_dir = progress, Path(run_dir)
        self._died: dict[str, str] = {}  # Tune trial -> the planned trial its dead process was running

    def _marker(self, trial_id: str) -> dict:
        try:
            marker = LocalRunFolder(self.run_dir).marker(trial_id)
        except RunFolderError:  # damaged: the resume check names it
            return {}
        return dict(marker.fields) if marker is not None else {}

    def ended(self, trial, tune_trial, error: bool) -> None:
        """Its progress line; a trial its task's process died on (killed, out of memory, disk full) is recorded
        failed here (when the driver cannot write either, it says so and carries on). The trials of its batch
        that never started stay unrecorded: ``TrialRunner.run`` runs them again, each alone."""
        trial_id = trial.trial_id
        info = self._marker(trial_id)
        if error and not info:
            if self._died.setdefault(tune_trial.trial_id, trial_id) != trial_id:
                return  # not started: run again
            info = self._record_failed(trial, tune_trial)
        status = info.get("status", "failed" if error else "unknown")
        self.progress.trial_finished(trial_id, status, info.get("wall_seconds"))

    def _record_failed(self, trial, tune_trial) -> dict:
        import polars as pl

        from .rows import ROW_SCHEMA

        trial_id = trial.trial_id
        reason = str(getattr(tune_trial, "error_msg", None) or "the trial's process died").strip().splitlines()
        error = f"trial process died: {reason[-1] if reason else ''}"[:500]
        outcome = {"status": "failed", "error": error, "sweep": trial.sweep, "study": trial.study,
                   "wall_seconds": None}
        try:
            LocalRunFolder(self.run_dir).write_trial(trial_id, pl.DataFrame(schema=ROW_SCHEMA), outcome)
        except OSError as exc:
            self.progress.line(
                f"cannot record trial {trial_id} as failed ({exc.strerror}: {exc.filename}); "
                f"it stays pending and --resume runs it"
            )
        return outcome

    def __getstate__(self) -> dict:  # Tune pickles its run config; the stream stays behind
        return {**super().__getstate__(), "run_dir": self.run_dir, "progress": None, "_died": {}}
