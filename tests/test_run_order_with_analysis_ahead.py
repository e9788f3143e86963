"""The driver's order of work with analyses ahead (no Ray: the trial runner is a stand-in that records): a study is
handed to the background analysis once its trials have ended, and trials timed alone (the compute study's) start
only after every pending analysis has finished, in their own processes (not on the run's warm hosts); a stop hands
nothing more to it."""

from __future__ import annotations

import contextlib

import dl_drawbacks.analysis_ahead as analysis_ahead
import dl_drawbacks.trial_hosts as trial_hosts
import dl_drawbacks.tune_runner as tune_runner
from dl_drawbacks.execute import _run_trials
from dl_drawbacks.plan import plan_suite
from dl_drawbacks.spec import load_spec

from quickstart_rows import QUICKSTART


def _suite(order: list[str]):
    suite = load_spec(QUICKSTART)
    by_kind = {s.kind: s for s in suite.studies}
    return suite.model_copy(update={"studies": [by_kind[k] for k in order],
                                    "tracking": suite.tracking.model_copy(update={"mode": "disabled"})})


def _record(monkeypatch, events: list[str]) -> None:
    class Runner:
        def __init__(self, **kw):
            self.max_concurrent, self.hosts = kw["max_concurrent"], kw["hosts"]

        def run(self, todo, **kw):
            events.append(f"trials {todo[0].study} x{self.max_concurrent}" + (" hosted" if self.hosts else ""))

    @contextlib.contextmanager
    def open_hosts(run_id):
        yield "pool"

    monkeypatch.setattr(tune_runner, "TrialRunner", Runner)
    monkeypatch.setattr(trial_hosts, "open_hosts", open_hosts)
    monkeypatch.setattr(analysis_ahead.AnalysisAhead, "submit", lambda self, s: events.append(f"ahead {s.spec.kind}"))
    monkeypatch.setattr(analysis_ahead.AnalysisAhead, "quiet", lambda self: events.append("quiet"))
    monkeypatch.setattr(analysis_ahead.AnalysisAhead, "results", lambda self: {})


def test_timed_trials_start_after_the_analyses_and_each_study_is_analysed_once_it_ended(tmp_path, monkeypatch):
    events: list[str] = []
    _record(monkeypatch, events)
    suite = _suite(["overfitting", "compute", "bias"])
    _run_trials(tmp_path, suite, plan_suite(suite), {"CPU": 2}, None)
    assert events == ["trials overfitting xNone hosted", "ahead overfitting", "quiet", "trials compute x1",
                      "ahead compute", "trials bias xNone hosted", "ahead bias"]  # None: as many at once as fit
    # the trials timed alone start in their own Tune run's processes, not on the warm hosts the others share


def test_after_a_stop_no_study_is_handed_to_the_background(tmp_path, monkeypatch):
    import os
    import signal

    events: list[str] = []
    _record(monkeypatch, events)
    run = tune_runner.TrialRunner.run
    monkeypatch.setattr(tune_runner.TrialRunner, "run", lambda self, todo, **kw: (
        run(self, todo), os.kill(os.getpid(), signal.SIGINT)))  # Ctrl-C while the first study's trials run
    suite = _suite(["overfitting", "compute"])
    stop, *_ = _run_trials(tmp_path, suite, plan_suite(suite), {"CPU": 2}, None)
    assert stop.signum == signal.SIGINT and events == ["trials overfitting xNone hosted"]


def test_a_bucket_run_analyses_its_studies_at_the_end_only(tmp_path, monkeypatch):
    """A bucket run's staging folder is listed and pushed while trials run: no figure may be half written there."""
    events: list[str] = []
    monkeypatch.setattr(tune_runner, "TrialRunner", type("Runner", (), {
        "__init__": lambda self, **kw: None, "run": lambda self, todo, **kw: events.append("trials")}))
    monkeypatch.setattr(analysis_ahead.AnalysisAhead, "_analyse", lambda self, s: events.append("analysed"))

    class Staged:
        def push(self):
            events.append("push")

        def pull(self):
            pass

    suite = _suite(["overfitting", "bias"])
    *_, ahead = _run_trials(tmp_path, suite, plan_suite(suite), {"CPU": 2}, Staged())
    assert "analysed" not in events and events.count("trials") == 1 and ahead == {}  # one grid for both studies
    suite_local = _suite(["overfitting", "bias"])
    events.clear()
    _run_trials(tmp_path / "local", suite_local, plan_suite(suite_local), {"CPU": 2}, None)
    assert events.count("analysed") == 2  # the same run in a local folder analyses both ahead
