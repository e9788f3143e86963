"""A job's entrypoint makes the driver the job's own process (job_entrypoint.py): Ray's job supervisor signals the
shell and only the descendants it lists at stop time, so a driver forked after that listing used to run on as an
orphan after `job stop` (CI, stop 36: STOPPED reported, the driver still holding its run folder)."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from dl_drawbacks.jobs.submission import build_submission
from dl_drawbacks.k8s.render import render_rayjob

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "tests" / "specs" / "tiny_submit.yaml"
# stands in for the installed console script only to report which process it runs as; then it is a long sleep
PROBE = '#!/bin/sh\necho $$ > "$PROBE_PID"\nexec sleep 60\n'


def _entrypoints() -> dict[str, str]:
    return {"job submit": build_submission(SPEC, suffix="abc123", environ={}).entrypoint,
            "job submit --resume": build_submission(SPEC, out="/tmp/x y", resume=True, environ={}).entrypoint,
            "RayJob": render_rayjob(str(REPO / "studies" / "compute.yaml"), name="c1")["spec"]["entrypoint"]}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone for our purpose: it holds no files
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("which", ["job submit", "job submit --resume", "RayJob"])
def test_the_job_process_is_the_driver_so_a_stop_signal_reaches_it(which, tmp_path):
    """Started as Ray's supervisor starts it (`Popen(entrypoint, shell=True)`), the entrypoint runs `dl-drawbacks`
    as the job's own pid; and a SIGTERM to that pid alone (what the supervisor sends when its listing of children
    came before the fork) ends the driver - with a fork, the shell died and the driver ran on."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    probe = bin_dir / "dl-drawbacks"
    probe.write_text(PROBE)
    probe.chmod(0o755)
    pid_file = tmp_path / "pid"
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path), "PROBE_PID": str(pid_file),
           "DL_DRAWBACKS_RUNS_DIR": str(tmp_path / "runs")}
    entrypoint = _entrypoints()[which]
    assert shlex.split(entrypoint.rsplit(";", 1)[-1])[:3] == ["exec", "dl-drawbacks", "run"]
    job = subprocess.Popen(entrypoint, shell=True, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not pid_file.exists() or not pid_file.read_text().strip():
            assert time.monotonic() < deadline and job.poll() is None
            time.sleep(0.02)
        driver = int(pid_file.read_text())
        assert driver == job.pid, "the driver is a child of the job's shell, not the job's process"
        os.kill(job.pid, signal.SIGTERM)
        assert job.wait(timeout=10) == -signal.SIGTERM
        assert not _alive(driver)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(job.pid, signal.SIGKILL)
