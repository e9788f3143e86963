"""Errors inside trials are outcomes: a trial that raises (out of memory, a vanished file) is recorded
as failed with its message while the study goes on; a study whose every trial fails exits 1; a second
`run` on a folder another run holds refuses."""

from __future__ import annotations

import json
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


def test_a_failing_trial_is_recorded_and_the_study_goes_on(ray_cluster, tmp_path, monkeypatch):
    victim = plan(load_spec(SPEC))[2].trial_id
    monkeypatch.setenv(FAULT_ENV, json.dumps({"raise_at_step": 3, "error": "MemoryError", "message": "CPU out of memory", "trials": [victim]}))
    out = tmp_path / "run"
    assert main(["run", str(SPEC), "--out", str(out)]) == 0
    markers = _markers(out)
    assert markers[victim]["status"] == "failed" and markers[victim]["error"] == "MemoryError: CPU out of memory"
    assert "MemoryError" in (out / "trials" / victim / "error.txt").read_text()
    assert sorted(m["status"] for m in markers.values()) == ["completed"] * 4 + ["failed"]
    assert json.loads((out / "findings.json").read_text())["compute"]["trials"] == 4
    report = (out / "report.md").read_text()
    assert "Failed trials" in report and victim in report and "CPU out of memory" in report
    # --resume re-runs only the failed trial (the fault is gone now)
    monkeypatch.delenv(FAULT_ENV)
    assert main(["run", str(SPEC), "--out", str(out), "--resume"]) == 0
    assert _markers(out)[victim]["status"] == "completed"


def test_a_trial_whose_process_dies_is_recorded_as_failed(ray_cluster, tmp_path, monkeypatch):
    victim = plan(load_spec(SPEC))[0].trial_id  # first of its batch: the batch's other trial runs again, alone
    marker = tmp_path / "killed.txt"
    monkeypatch.setenv(FAULT_ENV, json.dumps({"kill_at_step": 5, "rank": 0, "marker": str(marker), "trials": [victim]}))
    out = tmp_path / "run"
    assert main(["run", str(SPEC), "--out", str(out)]) == 0
    assert marker.exists()
    markers = _markers(out)
    assert markers[victim]["status"] == "failed" and markers[victim]["error"].startswith("trial process died")
    assert sorted(m["status"] for m in markers.values()) == ["completed"] * 4 + ["failed"]


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
    finally:
        assert first.wait(timeout=180) == 0
    assert {m["status"] for m in _markers(out).values()} == {"completed"}
