"""Kill the driver of `dl-drawbacks run` midway (SIGKILL), then `--resume`: the study completes,
every trial's rows exist exactly once, and rows finished before the kill are byte-identical."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dl_drawbacks.cli import main

pytestmark = pytest.mark.ray
SPEC = Path(__file__).resolve().parents[1] / "specs" / "tiny_resume.yaml"


def _finished(out: Path) -> dict[Path, bytes]:
    done = {}
    for marker in (out / "trials").glob("*/trial.json"):
        if json.loads(marker.read_text())["status"] == "completed":
            rows = marker.parent / "rows.parquet"
            done[rows] = rows.read_bytes()
    return done


def test_sigkill_then_resume(ray_cluster, tmp_path):
    import ray

    out = tmp_path / "run"
    address = ray.get_runtime_context().gcs_address
    driver = subprocess.Popen([sys.executable, "-m", "dl_drawbacks.cli", "run", str(SPEC), "--out", str(out), "--address", address],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not ((out / "trials").exists() and len(_finished(out)) >= 2):
        time.sleep(0.2)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    before = _finished(out)
    assert 2 <= len(before) < 5, "the kill should land midway"
    assert main(["run", str(SPEC), "--out", str(out), "--resume"]) == 0
    after = _finished(out)
    assert len(after) == 5 and len(list((out / "trials").glob("*/rows.parquet"))) == 5
    assert all(after[p] == b for p, b in before.items())
    findings = json.loads((out / "findings.json").read_text())
    assert findings["compute"]["trials"] == 5
