"""Signals at random times across the phases of a tiny `dl-drawbacks run` that starts its own local cluster
(imports, planning, `ray.init`, trials, analysis, report): exit 130/143 (or 0 when the run had finished), no
traceback, no process left in the driver's session, and `--resume` completes the run with every row finished
before the signal byte-identical. A SIGKILLed driver's leftover Ray processes are stopped by the next run.
The fast equivalents without Ray are in tests/test_signals.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dl_drawbacks import ray_processes
from dl_drawbacks.storage.run_folder import LocalRunFolder
from process_sessions import wait_for_signal_handlers

pytestmark = pytest.mark.slow
SPEC = Path(__file__).resolve().parents[1] / "specs" / "tiny_kill.yaml"


def _session(sid: int) -> list[psutil.Process]:
    procs = []
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == sid and proc.status() != psutil.STATUS_ZOMBIE:
                procs.append(proc)
        except (ProcessLookupError, PermissionError, psutil.Error):
            pass
    return procs


def _finished_rows(out: Path) -> dict[str, bytes]:
    root = out / "trials"
    return {p.name: (p / "rows.parquet").read_bytes() for p in root.iterdir()
            if LocalRunFolder(out).is_finished(p.name)} if root.exists() else {}


def _run(out: Path, state: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dl_drawbacks.cli", "run", str(SPEC), "--out", str(out),
                             "--address", "local", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, "DL_DRAWBACKS_STATE": str(state)})


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(after_s=st.floats(min_value=0.2, max_value=60.0), signum=st.sampled_from([signal.SIGINT, signal.SIGTERM]))
def test_a_signal_at_any_phase_tells_the_truth(tmp_path_factory, after_s, signum):
    tmp = tmp_path_factory.mktemp("signal")
    out = tmp / "run"
    driver = _run(out, tmp)
    wait_for_signal_handlers(driver.pid)  # the interpreter's own start-up is before any of our code
    time.sleep(after_s)
    driver.send_signal(signum)
    _, err = driver.communicate(timeout=300)
    assert driver.returncode in (0, 128 + signum), (after_s, driver.returncode, err[-1000:])
    assert "Traceback" not in err, (after_s, err[-2000:])
    deadline = time.time() + 15
    while _session(driver.pid) and time.time() < deadline:
        time.sleep(0.5)
    assert not _session(driver.pid), f"processes left after {after_s:.1f} s: {_session(driver.pid)}"
    before = _finished_rows(out)
    if not (out / "spec.yaml").exists():
        return  # stopped before the run folder was made: nothing to resume
    resumed = _run(out, tmp, "--resume")
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err[-1000:]
    after = _finished_rows(out)
    assert len(after) == 5 and all(after[t] == rows for t, rows in before.items())
    assert json.loads((out / "findings.json").read_text())["compute"]["trials"] == 5


def test_the_next_run_stops_the_cluster_a_sigkilled_driver_left(tmp_path, monkeypatch):
    monkeypatch.setenv("DL_DRAWBACKS_STATE", str(tmp_path))
    code = ("import time\nfrom dl_drawbacks.cluster import connect\nconnect('local')\n"
            "print('connected', flush=True)\ntime.sleep(300)\n")
    driver = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert driver.stdout.readline().strip() == "connected"
        time.sleep(3)
        driver.kill()
        driver.wait()
        time.sleep(5)
        left = _session(driver.pid)
        assert left, "Ray 2.60 leaves its agents behind after a SIGKILL of the driver; this case needs them"
        lines = ray_processes.clean_up_orphans()
        assert len(lines) == 1 and lines[0].endswith(f"left behind by a killed run (driver pid {driver.pid})")
        time.sleep(1)
        assert not _session(driver.pid)
    finally:
        for proc in _session(driver.pid):
            proc.kill()
