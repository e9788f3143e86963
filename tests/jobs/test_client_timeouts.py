"""A job server that accepts connections but never answers is named within the client's timeouts."""

from __future__ import annotations

import socket
import time

import pytest

from dl_drawbacks.errors import ClusterError
from dl_drawbacks.jobs import client


def test_a_hung_job_server_is_one_line_within_the_read_timeout(monkeypatch):
    monkeypatch.setattr(client, "TIMEOUTS_S", (1.0, 1.0))
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    with socket.create_server(("127.0.0.1", 0)) as silent:
        address = f"http://127.0.0.1:{silent.getsockname()[1]}"
        t0 = time.monotonic()
        with pytest.raises(ClusterError) as err:
            client.connect(address)
        assert time.monotonic() - t0 < 10
    assert str(err.value) == (f"the Ray job server at {address} did not answer within 1 s (a hung head, or not a "
                              f"job server?): check --address (the dashboard port, default 8265) and the head node")
