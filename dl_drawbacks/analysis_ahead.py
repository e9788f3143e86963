"""Each study analysed while later studies train: one background thread of the driver takes a study as soon as all
its trials have ended, so the end of a run only analyses what changed since (the last study, as a rule).

A result is used by the end-of-run analysis only when the study's rows are still the ones it read: the same finished
trials with the same rows checksums (``RunRows.fingerprint``); otherwise, or when the early analysis raised, the
study is analysed again there, exactly as ``dl-drawbacks analyze`` would (its errors are recorded there, in its
section and the analysis-errors folder, never here). Trials that are timed alone (a study whose concurrency is 1, as
the compute study's: their timings are the finding) never run beside an analysis: ``quiet`` waits for the pending
ones first. A bucket run's staging folder is pushed while trials run (a listing then a stat of every file): there
the studies are analysed at the end only, so no half-written figure is ever listed or uploaded.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .aggregate import RunRows


@dataclass(frozen=True)
class StudyAnalysis:
    """One study's analysis and the rows it read: (findings, figures, report section, headlines) and fingerprint."""

    fingerprint: tuple
    result: tuple


class AnalysisAhead:
    """One background thread of analyses; ``results`` waits for all and returns those that finished. The thread is a
    daemon: a driver that quits (a second Ctrl-C) never waits for an analysis (``ThreadPoolExecutor`` joins its
    threads at exit, so it is not used here)."""

    def __init__(self, run_dir: Path, studies: list, measure: Any, *, enabled: bool = True) -> None:
        from .analyze import plan_admits

        self.run_dir, self.measure, self.enabled = Path(run_dir), measure, enabled
        self.admit = plan_admits(studies)  # the admission the end-of-run analysis applies
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="analysis-ahead", daemon=True)
        self._futures: dict[str, Future] = {}

    def submit(self, study: Any) -> None:
        """Analyse ``study`` (a ``PlannedStudy`` whose trials have all ended) in the background (when enabled)."""
        if not self.enabled:
            return
        future: Future = Future()
        self._futures[study.spec.kind] = future
        self._queue.put((study, future))
        if not self._thread.is_alive():
            self._thread.start()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            study, future = item
            future.set_running_or_notify_cancel()
            try:
                future.set_result(self._analyse(study))
            except BaseException as exc:  # noqa: BLE001 - handed to the end-of-run analysis, which does it again
                future.set_exception(exc)

    def _analyse(self, study: Any) -> StudyAnalysis:
        from .analyze import analyze_study

        name = study.spec.kind  # only this study's rows are read and verified (the end of the run verifies them all)
        run_rows = RunRows.read(self.run_dir, lambda m: self.admit(m) and m.get("study", name) == name)
        rows = run_rows.rows(name, columns=study.kind.row_columns)
        if rows.height == 0:
            raise LookupError(f"{name}: no finished trials")  # the end-of-run analysis says so in its section
        return StudyAnalysis(run_rows.fingerprint(name), analyze_study(study, rows, self.run_dir, self.measure))

    def quiet(self) -> None:
        """Return when no analysis is running or waiting (before trials that must have the node to themselves)."""
        for future in list(self._futures.values()):
            future.exception()  # waits; an analysis that raised is simply done again at the end

    def results(self) -> dict[str, StudyAnalysis]:
        """Every analysis that finished without raising, by study kind; the thread is gone afterwards."""
        self._queue.put(None)
        self.quiet()
        return {name: f.result() for name, f in self._futures.items() if f.exception() is None}
