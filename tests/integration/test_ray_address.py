"""`RAY_ADDRESS` (what `ray job submit` sets for its entrypoint) is honoured: `dl-drawbacks run` with no
--address joins the head named there instead of starting a nested local cluster.

The head is a real `ray start --head --block` in its own process session (setsid), stopped by that
session: `ray stop` would stop every Ray on the machine (FACTS.md)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from dl_drawbacks.cluster import resolve_address
from process_sessions import end_session

SPEC = """\
name: tiny-address
version: 1
tracking: {mode: disabled}
studies:
  - kind: compute
    data: {name: digits}
    model: {family: mlp, size: xs}
    trainer:
      micro_batch: 32
      budget: {steps: 4, eval_every: 2, warmup_steps: 1}
"""


def test_address_order_is_rays_own(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "10.1.2.3:6379")
    assert resolve_address(None) == "10.1.2.3:6379"
    assert resolve_address("10.9.9.9:6379") == "10.9.9.9:6379"  # an explicit --address wins, as in ray.init
    assert resolve_address("local") == "local"
    monkeypatch.setenv("RAY_ADDRESS", " ")
    assert resolve_address(None) is None  # nothing set: a new local cluster
    monkeypatch.delenv("RAY_ADDRESS")
    assert resolve_address(None) is None


def test_dead_ray_address_is_one_line_naming_the_variable(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    env = {**os.environ, "RAY_ADDRESS": f"127.0.0.1:{port}"}
    done = subprocess.run([sys.executable, "-m", "dl_drawbacks.cli", "run", str(spec), "--out", str(tmp_path / "run")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "RAY_ADDRESS" in done.stderr, done.stderr
    assert not (tmp_path / "run").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, head: subprocess.Popen, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and head.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"ray start --head did not listen on {port} (exit {head.poll()})")


@pytest.mark.ray
@pytest.mark.slow
def test_run_joins_the_head_named_by_ray_address(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "run"
    ray_tmp = tempfile.mkdtemp(prefix="ddra", dir="/tmp")  # short: Ray's socket paths have a length limit
    port = _free_port()
    env = {**os.environ, "RAY_TMPDIR": ray_tmp, "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    head = subprocess.Popen(
        ["ray", "start", "--head", f"--port={port}", "--num-cpus=3", "--resources", '{"joined_head": 1}',
         "--include-dashboard=false", f"--temp-dir={ray_tmp}", "--disable-usage-stats", "--block"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, head)
        driver = subprocess.run([sys.executable, "-m", "dl_drawbacks.cli", "run", str(spec), "--out", str(out)],
                                env={**env, "RAY_ADDRESS": f"127.0.0.1:{port}"}, capture_output=True, text=True,
                                timeout=300)
    finally:
        end_session(head.pid)
        subprocess.run(["rm", "-rf", ray_tmp], check=False)
    assert driver.returncode == 0, driver.stderr[-3000:]
    resources = json.loads((out / "env.json").read_text())["ray_cluster_resources"]
    assert resources.get("joined_head") == 1.0, resources  # the test head's own resource: it joined, not nested
    assert resources["CPU"] == 3.0
    (marker,) = (out / "trials").glob("*/trial.json")
    assert json.loads(marker.read_text())["status"] == "completed"
