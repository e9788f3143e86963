"""Errors inside trials are outcomes: a trial that raises (out of memory, a vanished file) or whose process
dies is recorded as failed with its message while the study goes on; a study whose every trial fails exits 1; a second
`run` on a folder another run holds refuses."""

from __future__ import annotations

import fcntl
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dl_drawbacks.cli import main
from dl_drawbacks.plan import plan
from dl_drawbacks.spec import load_spec
from dl_drawbacks.train.checkpoint import FAULT_ENV

pytestmark = pytest.mark.ray
SPEC = Path(__file__).resolve().parents[1] / "specs" / "tiny_resume.yaml"


def _markers(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in (out / "trials").glob("*/trial.json")}


def test_a_failing_trial_and_a_dying_trial_are_recorded_and_the_study_goes_on(ray_cluster, tmp_path, monkeypatch):
    """One run, two planted faults: a trial that raises (out of memory) and a trial whose process is SIGKILLed
    (the first of its batch: the batch's other trial runs again, alone); both are recorded as failed with their
    message, the other three complete, and `--resume` re-runs exactly the two."""
    trials = [t.trial_id for t in plan(load_spec(SPEC))]
    raised, killed = trials[2], trials[0]
    marker = tmp_path / "killed.txt"
    monkeypatch.setenv(FAULT_ENV, json.dumps([
        {"raise_at_step": 3, "error": "MemoryError", "message": "CPU out of memory", "trials": [raised]},
        {"kill_at_step": 5, "rank": 0, "marker": str(marker), "trials": [killed]},
    ]))
    out = tmp_path / "run"
    assert main(["run", str(SPEC), "--out", str(out)]) == 0
    assert marker.exists()
    markers = _markers(out)
    assert markers[raised]["status"] == "failed" and markers[raised]["error"] == "MemoryError: CPU out of memory"
    assert "MemoryError" in (out / "trials" / raised / "error.txt").read_text()
    assert markers[killed]["status"] == "failed" and markers[killed]["error"].startswith("trial process died")
    assert sorted(m["status"] for m in markers.values()) == ["completed"] * 3 + ["failed"] * 2
    assert json.loads((out / "findings.json").read_text())["compute"]["trials"] == 3
    report = (out / "report.md").read_text()
    assert "Failed trials" in report and raised in report and "CPU out of memory" in report and killed in report
    # --resume re-runs only the failed trials (the faults are gone now)
    monkeypatch.delenv(FAULT_ENV)
    before = {t: m["finished"] for t, m in markers.items() if m["status"] == "completed"}
    assert main(["run", str(SPEC), "--out", str(out), "--resume"]) == 0
    after = _markers(out)
    assert after[raised]["status"] == "completed" and after[killed]["status"] == "completed"
    assert {t: after[t]["finished"] for t in before} == before  # the finished trials did not run again


def test_a_study_where_every_trial_fails_exits_1(ray_cluster, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(FAULT_ENV, json.dumps({"raise_at_step": 1, "error": "FileNotFoundError", "message": "data file vanished"}))
    assert main(["run", str(SPEC), "--out", str(tmp_path / "run")]) == 1
    assert "every trial of compute failed (5)" in capsys.readouterr().err
    assert {m["status"] for m in _markers(tmp_path / "run").values()} == {"failed"}


def test_second_run_on_a_folder_in_use_refuses(ray_cluster, tmp_path, capsys):
    import ray

    out = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-m", "dl_drawbacks.cli", "run", str(SPEC), "--out", str(out),
                              "--address", ray.get_runtime_context().gcs_address],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 90
        while time.time() < deadline and not ((out / ".lock").exists() and " pid " in (out / ".lock").read_text()):
            time.sleep(0.1)
        assert main(["run", str(SPEC), "--out", str(out), "--resume"]) == 2
        assert f"is in use by another dl-drawbacks run (host {socket.gethostname()} pid" in capsys.readouterr().err
    finally:  # the refusal did not disturb the holder: it still answers Ctrl-C as its own run (not waited to the end)
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=180) in (0, 130)  # 0: it had already finished
    assert {m["status"] for m in _markers(out).values()} <= {"completed", "interrupted"}
    with open(out / ".lock") as lock:  # its holder let go on exit
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
