"""Terminal progress of a run: trials done / total, elapsed, ETA; one line per finished trial."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ray.tune import Callback

from .errors import RunFolderError
from .storage.run_folder import LocalRunFolder


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    def __init__(self, *, total: int, done: int = 0, stream=None) -> None:
        self.total, self.done, self.skipped = total, done, done
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
        self.line(
            f"[{self.done:>3}/{self.total}] {trial_id:<22} {status:<9} {wall_text}  elapsed {_clock(elapsed)}  ETA "
            f"{_clock(eta)}"
        )

    def tune_callback(self, run_dir: Path) -> "ProgressCallback":
        return ProgressCallback(self, run_dir)


class ProgressCallback(Callback):
    def __init__(self, progress: Progress, run_dir: Path) -> None:
        self.progress, self.run_dir = progress, Path(run_dir)

    def _marker(self, trial_id: str) -> dict:
        try:
            marker = LocalRunFolder(self.run_dir).marker(trial_id)
        except RunFolderError:  # damaged: the resume check names it
            return {}
        return dict(marker.fields) if marker is not None else {}

    def _finished(self, trial, error: bool) -> None:
        trial_id = trial.config["trial"]["trial_id"]
        info = self._marker(trial_id)
        status = info.get("status", "failed" if error else "unknown")
        self.progress.trial_finished(trial_id, status, info.get("wall_seconds"))

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self._finished(trial, error=False)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        """The trial's process died, or could not write its outcome (killed, out of memory, disk full):
        record it here. When the driver cannot write either, it says so and carries on."""
        trial_id = trial.config["trial"]["trial_id"]
        if not self._marker(trial_id):
            import polars as pl

            from .rows import ROW_SCHEMA

            reason = str(getattr(trial, "error_msg", None) or "the trial's process died").strip().splitlines()
            try:
                LocalRunFolder(self.run_dir).write_trial(
                    trial_id,
                    pl.DataFrame(schema=ROW_SCHEMA),
                    {
                        "status": "failed",
                        "error": f"trial process died: {reason[-1] if reason else ''}"[:500],
                        "sweep": trial.config["trial"]["sweep"],
                        "study": trial.config["trial"]["study"],
                        "wall_seconds": None,
                    },
                )
            except OSError as exc:
                self.progress.line(
                    f"cannot record trial {trial_id} as failed ({exc.strerror}: {exc.filename}); "
                    f"it stays pending and --resume runs it"
                )
        self._finished(trial, error=True)

    def __getstate__(self) -> dict:  # Tune pickles its run config; the stream stays behind
        return {"run_dir": self.run_dir, "progress": None}
