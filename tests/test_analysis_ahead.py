"""A study analysed while later studies train (``analysis_ahead``) gives the end-of-run analysis exactly what it
would have computed, is used only while its rows are unchanged, and an early analysis that raised is simply done
again at the end; ``quiet`` returns only once no analysis is running (timed trials never run beside one)."""

from __future__ import annotations

import json
import threading
import time

import polars as pl
import pytest

import dl_drawbacks.analyze as analyze
from dl_drawbacks.analysis_ahead import AnalysisAhead
from dl_drawbacks.plan import plan_suite
from dl_drawbacks.spec.load import parse_spec, read_yaml
from dl_drawbacks.storage.run_folder import LocalRunFolder

from quickstart_rows import COMPLETE, KINDS, ROWS, quickstart_run_folder as _run_folder

pytestmark = pytest.mark.skipif(not COMPLETE, reason="tests/fixtures/rows is incomplete: run tests/fixtures/make_rows.py")


def _planned(out):
    return plan_suite(parse_spec(read_yaml(out / "spec.yaml")))


def _ahead(out, kinds):
    studies = _planned(out)
    ahead = AnalysisAhead(out, studies, None)
    for study in studies:
        if study.spec.kind in kinds:
            ahead.submit(study)
    return ahead.results()


def _counting(monkeypatch):
    analysed = []
    real = analyze.analyze_study
    monkeypatch.setattr(analyze, "analyze_study", lambda study, *a: analysed.append(study.spec.kind) or real(study, *a))
    return analysed


def test_a_study_analysed_ahead_is_not_analysed_again_and_the_findings_are_the_same(tmp_path, monkeypatch):
    kinds = ["compute", "data", "bias"]  # three of the six have trials: enough, and quick
    fresh = _run_folder(tmp_path / "fresh", keep_one_of=tuple(KINDS), kinds=kinds)
    analyze.analyze_run(fresh)
    out = _run_folder(tmp_path / "ahead", keep_one_of=tuple(KINDS), kinds=kinds)
    early = _ahead(out, {"bias", "data"})
    assert set(early) == {"bias", "data"}
    analysed = _counting(monkeypatch)
    analyze.analyze_run(out, ahead=early)
    assert analysed == ["compute"]
    assert json.loads((out / "findings.json").read_text()) == json.loads((fresh / "findings.json").read_text())
    assert (out / "report.md").read_text().replace(str(out), "") == (fresh / "report.md").read_text().replace(
        str(fresh), "")


def test_a_study_whose_rows_changed_since_is_analysed_again(tmp_path, monkeypatch):
    out = _run_folder(tmp_path, keep_one_of=tuple(KINDS), kinds=["bias"])
    early = _ahead(out, {"bias"})
    rows = pl.read_parquet(ROWS / "bias.parquet")
    second = sorted(set(rows["trial_id"].to_list()))[1]  # a trial that finished after the early analysis
    LocalRunFolder(out).write_trial(second, rows.filter(pl.col("trial_id") == second),
                                    {"status": "completed", "error": None, "study": "bias", "sweep": "",
                                     "wall_seconds": 1.0})
    analysed = _counting(monkeypatch)
    findings = analyze.analyze_run(out, ahead=early)
    assert "bias" in analysed and "analysis_error" not in findings["bias"]


def test_an_early_analysis_that_raised_is_done_again_at_the_end(tmp_path, monkeypatch):
    out = _run_folder(tmp_path, keep_one_of=tuple(KINDS), kinds=["bias"])
    real = analyze.analyze_study

    def broken_once(study, *a):
        monkeypatch.setattr(analyze, "analyze_study", real)
        raise RuntimeError("rows half written")

    monkeypatch.setattr(analyze, "analyze_study", broken_once)
    early = _ahead(out, {"bias"})
    assert early == {}
    analysed = _counting(monkeypatch)
    findings = analyze.analyze_run(out, ahead=early)
    assert analysed.count("bias") == 1 and "analysis_error" not in findings["bias"]


def test_quiet_returns_only_when_no_analysis_is_running(tmp_path, monkeypatch):
    out = _run_folder(tmp_path, keep_one_of=tuple(KINDS), kinds=["bias"])
    release, started = threading.Event(), threading.Event()

    def slow(self, study):
        started.set()
        release.wait(10)
        raise RuntimeError("done")

    monkeypatch.setattr(AnalysisAhead, "_analyse", slow)
    studies = _planned(out)
    ahead = AnalysisAhead(out, studies, None)
    ahead.submit(studies[0])
    started.wait(10)
    quiet = threading.Thread(target=ahead.quiet)
    quiet.start()
    time.sleep(0.3)
    assert quiet.is_alive()  # still waiting on the running analysis
    release.set()
    quiet.join(10)
    assert not quiet.is_alive() and ahead.results() == {}


def test_the_analysis_thread_never_keeps_a_quitting_driver_alive(tmp_path, monkeypatch):
    """A daemon thread: a second Ctrl-C quits at once instead of waiting for an analysis at interpreter exit."""
    out = _run_folder(tmp_path, keep_one_of=tuple(KINDS), kinds=["bias"])
    release = threading.Event()
    monkeypatch.setattr(AnalysisAhead, "_analyse", lambda self, study: release.wait(10))
    studies = _planned(out)
    ahead = AnalysisAhead(out, studies, None)
    ahead.submit(studies[0])
    assert ahead._thread.daemon and ahead._thread.is_alive()
    release.set()
    assert set(ahead.results()) == {studies[0].spec.kind}
    ahead._thread.join(10)
    assert not ahead._thread.is_alive()  # results() ends the thread
