"""Ctrl-C and SIGTERM on the driver of `dl-drawbacks run`: scheduling stops, the trials that did not
finish are recorded as interrupted and listed in the report with the `--resume` command, the exit code
is 130 (SIGINT) or 143 (SIGTERM), a second signal quits without a traceback, and `--resume` completes
the run with the rows finished before the signal byte-identical.

The default run checks SIGINT and a SIGKILL of the resuming driver in one run folder (two drivers and one
resume); the separate SIGINT test here and the three random SIGKILLs of test_kill_resume.py run under -m slow."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dl_drawbacks.cli import main
from dl_drawbacks.plan import plan
from dl_drawbacks.spec import load_spec
from dl_drawbacks.storage.run_folder import LocalRunFolder

pytestmark = pytest.mark.ray
SPEC = Path(__file__).resolve().parents[1] / "specs" / "tiny_kill.yaml"


def _finished_rows(out: Path) -> dict[str, bytes]:
    root = out / "trials"
    return {p.name: (p / "rows.parquet").read_bytes() for p in root.iterdir() if LocalRunFolder(out).is_finished(p.name)} if root.exists() else {}


def _start(out: Path, address: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "dl_drawbacks.cli", "run", str(SPEC), "--out", str(out), "--address", address]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for_first_finished(driver: subprocess.Popen, out: Path, timeout_s: float = 240) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline and driver.poll() is None and not _finished_rows(out):
        time.sleep(0.1)
    assert driver.poll() is None and _finished_rows(out), "the driver should be running with one trial finished"


def _wait_for_interrupted_markers(out: Path, timeout_s: float = 120) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline and not any('"interrupted"' in p.read_text() for p in out.glob("trials/*/trial.json")):
        time.sleep(0.05)


def _sigint_after_the_first_trial(out: Path, address: str) -> dict[str, bytes]:
    """SIGINT once a trial finished: exit 130 in one line naming --resume, the rest marked interrupted and
    listed in the report. Returns the rows finished before the signal."""
    driver = _start(out, address)
    _wait_for_first_finished(driver, out)
    driver.send_signal(signal.SIGINT)
    _, stderr = driver.communicate(timeout=240)
    assert driver.returncode == 130, stderr
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: interrupted by SIGINT") and "--resume" in last and str(out) in last
    before = _finished_rows(out)
    planned = [t.trial_id for t in plan(load_spec(SPEC))]
    not_run = [t for t in planned if t not in before]
    assert len(planned) == 5 and 1 <= len(before) < len(planned)  # interrupted after some, before all
    markers = {t: json.loads((out / "trials" / t / "trial.json").read_text()) for t in not_run}
    assert {m["status"] for m in markers.values()} == {"interrupted"}
    report = (out / "report.md").read_text()
    assert "Trials not run to the end (the run was interrupted)" in report
    assert all(t in report for t in not_run) and "--resume" in report
    return before


def test_sigint_then_a_killed_resume_then_resume_completes(ray_cluster, tmp_path):
    """One run folder through Ctrl-C, a `--resume` driver SIGKILLed just after its first new trial finished
    (a damaged or half-written file is never taken as finished; rows finished before stay byte-identical),
    and a last `--resume` that completes the study with every trial's rows exactly once."""
    import ray

    out = tmp_path / "run"
    address = ray.get_runtime_context().gcs_address
    before = _sigint_after_the_first_trial(out, address)
    args = [sys.executable, "-m", "dl_drawbacks.cli", "run", str(SPEC), "--out", str(out), "--address", address,
            "--resume"]
    driver = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and driver.poll() is None and len(_finished_rows(out)) <= len(before):
        time.sleep(0.05)
    time.sleep(random.Random(20261207).uniform(0.0, 0.5))  # somewhere inside the next trial
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    killed = _finished_rows(out)  # is_finished raises on a marker whose rows do not match
    assert all(killed[t] == rows for t, rows in before.items()), "a row file finished before Ctrl-C changed"
    assert len(before) < len(killed) < 5, "the kill should land after a new trial and before the last"

    assert main(["run", str(SPEC), "--out", str(out), "--resume"]) == 0
    after = _finished_rows(out)
    assert len(after) == 5 and len(list((out / "trials").glob("*/rows.parquet"))) == 5
    assert all(after[t] == rows for t, rows in killed.items()), "a row file finished before the kill changed"
    assert json.loads((out / "findings.json").read_text())["compute"]["trials"] == 5


@pytest.mark.slow
def test_sigint_after_the_first_trial_reports_what_did_not_run_and_resume_completes(ray_cluster, tmp_path):
    import ray

    out = tmp_path / "run"
    before = _sigint_after_the_first_trial(out, ray.get_runtime_context().gcs_address)
    planned = [t.trial_id for t in plan(load_spec(SPEC))]

    assert main(["run", str(SPEC), "--out", str(out), "--resume"]) == 0
    after = _finished_rows(out)
    assert sorted(after) == sorted(planned)
    assert all(after[t] == rows for t, rows in before.items()), "a row file finished before Ctrl-C changed"
    assert json.loads((out / "findings.json").read_text())["compute"]["trials"] == 5


@pytest.mark.slow
def test_sigterm_exits_143_and_a_second_signal_quits_without_a_traceback(ray_cluster, tmp_path):
    import ray

    address = ray.get_runtime_context().gcs_address
    driver = _start(tmp_path / "term", address)
    _wait_for_first_finished(driver, tmp_path / "term")
    driver.send_signal(signal.SIGTERM)
    _, stderr = driver.communicate(timeout=240)
    assert driver.returncode == 143 and "Traceback" not in stderr, stderr
    assert "interrupted" in (tmp_path / "term" / "report.md").read_text()

    driver = _start(tmp_path / "twice", address)
    _wait_for_first_finished(driver, tmp_path / "twice")
    driver.send_signal(signal.SIGINT)
    _wait_for_interrupted_markers(tmp_path / "twice")  # the first signal was handled: the driver is recording
    driver.send_signal(signal.SIGINT)
    _, stderr = driver.communicate(timeout=240)
    assert driver.returncode == 130 and "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]  # quit at once, or (when the analysis had just ended) the usual line
    assert last.startswith(("interrupted (SIGINT): quitting now", "error: interrupted by SIGINT")), stderr
