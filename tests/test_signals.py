"""SIGINT/SIGTERM outside the trial phase (imports, planning, `ray.init`, analysis, `analyze`) exit 130/143 with
one line and no traceback, and a killed driver's leftover processes are stopped by the next run. Fast: real
processes, no Ray cluster (the Ray and whole-run cases are in tests/integration/test_signal_phases.py, slow)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dl_drawbacks import ray_processes
from process_sessions import wait_for_signal_handlers

SPEC = Path(__file__).resolve().parent / "specs" / "tiny_compute.yaml"
QUIT_LINE = "interrupted ({}): quitting now; a run keeps its finished trials"


def _cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dl_drawbacks.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _assert_quit(proc: subprocess.Popen, signum: int) -> None:
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, (proc.returncode, err[-800:])
    assert "Traceback" not in err
    assert err.strip().splitlines() == [QUIT_LINE.format(signal.Signals(signum).name)
                                        + " (`dl-drawbacks run SPEC --out DIR --resume` finishes it)"]


def _failed_run_folder(tmp_path: Path) -> Path:
    """A run folder of the tiny compute spec whose trials all failed (no Ray needed to make or analyse it)."""
    import polars as pl

    from dl_drawbacks.execute import resolved_spec_text
    from dl_drawbacks.plan import plan
    from dl_drawbacks.rows import ROW_SCHEMA
    from dl_drawbacks.spec import load_spec
    from dl_drawbacks.storage.run_folder import LocalRunFolder

    out = tmp_path / "run"
    out.mkdir()
    suite = load_spec(SPEC)
    (out / "spec.yaml").write_text(resolved_spec_text(suite))
    for t in plan(suite):
        LocalRunFolder(out).write_trial(t.trial_id, pl.DataFrame(schema=ROW_SCHEMA),
                    {"status": "failed", "error": "OSError: gone", "study": t.study, "sweep": t.sweep,
                     "wall_seconds": 1.0})
    return out


HANDLER_IMPORTS = """
import signal, sys
from dl_drawbacks.interrupt import quit_now


class Watch:  # any module the handler would import from now on
    def find_spec(self, name, path=None, target=None):
        sys.stderr.write(f"handler imported {name}\\n")


sys.meta_path.insert(0, Watch())
quit_now(signal.SIGINT)
"""


def test_the_quit_handler_imports_nothing():
    """A signal can land in the middle of any import (the CLI's own, at start): a handler that imported a module then
    (psutil, for the Ray processes, imports socket) failed that import with a traceback and exit 1."""
    done = subprocess.run([sys.executable, "-c", HANDLER_IMPORTS], capture_output=True, text=True, timeout=60)
    assert done.returncode == 128 + signal.SIGINT, done.stderr[-800:]
    assert "handler imported" not in done.stderr
    assert done.stderr.strip().startswith(QUIT_LINE.format("SIGINT"))


@pytest.mark.parametrize("signum, command, after_s", [
    (signal.SIGINT, "plan", 0.0),
    (signal.SIGTERM, "analyze", 1.0),
    # the same two handlers on the same two commands: each signal and each command is already covered above
    pytest.param(signal.SIGTERM, "plan", 0.0, marks=pytest.mark.slow),
    pytest.param(signal.SIGINT, "analyze", 1.0, marks=pytest.mark.slow),
])
def test_a_signal_while_the_cli_imports_plans_or_analyses_is_one_line(tmp_path, signum, command, after_s):
    """`plan` of a tiny spec spends its first seconds importing (the parser's k8s and jobs modules, torch);
    `analyze` imports, then aggregates and reports (SIGINT and SIGTERM used to be ignored there: exit 0)."""
    proc = _cli("plan", str(SPEC)) if command == "plan" else _cli("analyze", str(_failed_run_folder(tmp_path)))
    wait_for_signal_handlers(proc.pid)
    time.sleep(after_s)
    assert proc.poll() is None, "plan finished before the signal: the case was not exercised"
    proc.send_signal(signum)
    _assert_quit(proc, signum)


def test_a_signal_held_during_ray_init_quits_once_it_returns():
    """``ray.init`` swaps SIGTERM for ``sys.exit`` (whose SystemExit Ray swallows): the signal is held, the
    owner's handler setter is a no-op meanwhile, and the process quits with 143 after the call."""
    code = (
        "import os, signal, types\n"
        "from dl_drawbacks.interrupt import install_quit_handlers, signals_held\n"
        "install_quit_handlers()\n"
        "owner = types.SimpleNamespace(set_sigterm_handler=lambda h: signal.signal(signal.SIGTERM, h))\n"
        "with signals_held(owner, 'set_sigterm_handler'):\n"
        "    owner.set_sigterm_handler(lambda s, f: None)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    print('call finished', flush=True)\n"
        "print('after the call', flush=True)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 143, proc.stderr
    assert proc.stdout.splitlines() == ["call finished"]
    assert "Traceback" not in proc.stderr and QUIT_LINE.format("SIGTERM") in proc.stderr


def _orphan_maker(state: Path) -> subprocess.Popen:
    """A driver stand-in: records a child that does not die with it (as the raylet's agents), then waits."""
    code = (
        "import subprocess, sys, time\n"
        "from dl_drawbacks.ray_processes import record_local_cluster\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        "record_local_cluster()\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "DL_DRAWBACKS_STATE": str(state)})


def test_the_next_run_stops_what_a_killed_driver_left_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("DL_DRAWBACKS_STATE", str(tmp_path))
    driver = _orphan_maker(tmp_path)
    child = int(driver.stdout.readline())
    record = json.loads((tmp_path / "ray-clusters" / f"{driver.pid}.json").read_text())
    assert [pid for pid, _ in record["processes"]] == [child]
    assert ray_processes.clean_up_orphans() == []  # its driver is alive: nothing is touched
    driver.kill()
    driver.wait()
    assert ray_processes._alive(*record["processes"][0]), "the child should outlive its SIGKILLed parent"
    assert ray_processes.clean_up_orphans() == [
        f"stopped 1 Ray processes left behind by a killed run (driver pid {driver.pid})"]
    assert not ray_processes._alive(*record["processes"][0])
    assert not list((tmp_path / "ray-clusters").iterdir())


def test_a_record_whose_pid_was_reused_is_dropped_without_a_signal(tmp_path, monkeypatch):
    monkeypatch.setenv("DL_DRAWBACKS_STATE", str(tmp_path))
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "ray-clusters").mkdir()
        (tmp_path / "ray-clusters" / "1.json").write_text(
            json.dumps({"driver": [999_999_999, 0.0], "processes": [[bystander.pid, 1.0]]}))  # other start time
        assert ray_processes.clean_up_orphans() == []
        assert bystander.poll() is None
        assert not list((tmp_path / "ray-clusters").iterdir())
    finally:
        bystander.kill()
