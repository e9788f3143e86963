"""`ray.init` to a head whose GCS passes the probe (it answers the gRPC handshake) and then stalls is given
``GCS_CONNECT_S`` (cluster.py ``bounded_wait``): one line naming what to check, exit 2, instead of minutes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

SETTINGS = bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  # an empty HTTP/2 SETTINGS frame: what the probe waits for


def _stalling_gcs() -> socket.socket:
    """Accepts, answers the probe's handshake, then never says anything more."""
    server = socket.create_server(("127.0.0.1", 0))
    held = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            try:
                conn.settimeout(2)
                conn.recv(64)
                conn.sendall(SETTINGS)
            except OSError:
                pass

    threading.Thread(target=serve, daemon=True).start()
    return server


def _run(code: str, limit_s: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "DL_DRAWBACKS_GCS_CONNECT_S": str(limit_s)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)


def test_a_bounded_wait_ends_the_process_with_one_line_and_exit_2():
    t0 = time.monotonic()
    done = _run("import time\nfrom dl_drawbacks.cluster import bounded_wait\n"
                "with bounded_wait(0.2, 'never'):\n    pass\n"  # a call that returns in time: the limit is lifted
                "time.sleep(0.4)\nprint('went on', flush=True)\n"
                "with bounded_wait(0.3, 'the call did not return within {s:g} s; check the head'):\n"
                "    time.sleep(60)\n", 0.3)
    assert done.returncode == 2 and time.monotonic() - t0 < 30 and done.stdout == "went on\n"
    assert done.stderr == "error: the call did not return within 0.3 s; check the head\n"


@pytest.mark.slow
def test_ray_init_to_a_gcs_that_stalls_is_one_line_within_the_limit():
    server = _stalling_gcs()
    try:
        address = f"127.0.0.1:{server.getsockname()[1]}"
        t0 = time.monotonic()
        done = _run(f"from dl_drawbacks.cluster import connect\nconnect({address!r})\nprint('connected')\n", 3)
        took = time.monotonic() - t0
    finally:
        server.close()
    assert done.returncode == 2 and "connected" not in done.stdout and took < 60
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: cannot reach the Ray cluster at '{address}': its GCS accepted the connection but Ray "
                      f"did not connect within 3 s (a hung or overloaded head?); check --address and the head node"]
