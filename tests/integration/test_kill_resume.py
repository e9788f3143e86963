"""Kill the driver of `dl-drawbacks run` (SIGKILL) at several random points, resuming each time: no
damaged file is ever taken as finished, and when `--resume` completes the study every trial's rows exist
exactly once and rows finished before any kill are byte-identical.

Slow (four drivers on the shared cluster); the default run keeps one SIGKILL of a resuming driver, after a
SIGINT, in test_interrupt.py::test_sigint_then_a_killed_resume_then_resume_completes."""

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
from dl_drawbacks.storage.run_folder import LocalRunFolder

pytestmark = [pytest.mark.ray, pytest.mark.slow]
SPEC = Path(__file__).resolve().parents[1] / "specs" / "tiny_kill.yaml"


def _finished(out: Path) -> dict[Path, bytes]:
    done = {}
    for marker in (out / "trials").glob("*/trial.json") if (out / "trials").exists() else []:
        if LocalRunFolder(out).is_finished(marker.parent.name):  # raises on a marker whose rows do not match
            rows = marker.parent / "rows.parquet"
            done[rows] = rows.read_bytes()
    return done


def _run_then_kill(out: Path, address: str, delay: float) -> None:
    args = [sys.executable, "-m", "dl_drawbacks.cli", "run", str(SPEC), "--out", str(out), "--address", address]
    driver = subprocess.Popen(args + (["--resume"] if out.exists() else []), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "trials").exists() and driver.poll() is None:
        time.sleep(0.05)
    time.sleep(delay)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()


def test_sigkill_at_random_points_then_resume(ray_cluster, tmp_path):
    import ray

    out = tmp_path / "run"
    address = ray.get_runtime_context().gcs_address
    rng = random.Random(20261128)
    seen: dict[Path, bytes] = {}
    for _ in range(3):
        _run_then_kill(out, address, delay=rng.uniform(0.5, 6.0))
        now = _finished(out)
        assert all(now[p] == b for p, b in seen.items()), "a finished trial's rows changed"
        seen.update(now)
    assert 0 < len(seen) < 5, "the kills should land midway"
    assert main(["run", str(SPEC), "--out", str(out), "--resume"]) == 0
    final = _finished(out)
    assert len(final) == 5 and len(list((out / "trials").glob("*/rows.parquet"))) == 5
    assert all(final[p] == b for p, b in seen.items())
    assert json.loads((out / "findings.json").read_text())["compute"]["trials"] == 5
