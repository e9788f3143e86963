"""A job server that accepts connections but never answers is named within the client's timeouts."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Callable

import pytest
from aiohttp import web

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


def _log_server(handler) -> tuple[str, Callable[[], None]]:
    """An aiohttp server on its own thread whose log-tail websocket route runs ``handler``; (address, stop)."""
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_get("/api/jobs/{job}/logs/tail", handler)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]
    threading.Thread(target=loop.run_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}", lambda: loop.call_soon_threadsafe(loop.stop)


def _client_for(address: str):
    """The bounded client without its version handshake (that part is the SDK's, bounded by TIMEOUTS_S)."""
    c = object.__new__(client._bounded_client())
    c._address, c._cookies, c._headers, c._ssl_context = address, None, {}, None
    return c


async def _never_opens(request):
    await asyncio.sleep(3600)


async def _opens_then_never_answers(request):
    ws = web.WebSocketResponse(autoping=False)  # a hung server: pings go unanswered
    await ws.prepare(request)
    await ws.send_str("first line\n")
    await asyncio.sleep(3600)


@pytest.mark.parametrize(("handler", "why"), [(_never_opens, "the log stream did not open within 0.5 s"),
                                              (_opens_then_never_answers, "no answer to a ping within 0.25 s")])
def test_following_a_log_on_a_server_that_stops_answering_is_one_line(monkeypatch, handler, why):
    monkeypatch.setattr(client, "TIMEOUTS_S", (0.5, 0.5))
    monkeypatch.setattr(client, "FOLLOW_HEARTBEAT_S", 0.5)
    address, stop = _log_server(handler)
    lines: list[str] = []

    async def follow() -> None:
        async for chunk in _client_for(address).tail_job_logs("job-1"):
            lines.append(chunk)

    t0 = time.monotonic()
    try:
        with pytest.raises(ClusterError) as err:
            asyncio.run(follow())
    finally:
        stop()
    assert time.monotonic() - t0 < 10
    assert str(err.value) == (f"the Ray job server at {address} stopped answering while following the log of job "
                              f"job-1 ({why}): check the head node; `dl-drawbacks job status job-1` says whether "
                              f"the job runs")
    assert lines == ([] if handler is _never_opens else ["first line\n"])
