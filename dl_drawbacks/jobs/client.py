"""Talking to a Ray job server (the dashboard port, 8265 by default) through `JobSubmissionClient`.

Token authentication: the bearer token comes from ``--token-file``, else ``RAY_AUTH_TOKEN``, else
``~/.ray/auth_token`` when it exists (none when ``RAY_AUTH_MODE=disabled`` and no file is named).
It only ever travels in the ``Authorization`` header: no message here contains it. Every failure to
reach or to be let in becomes one :class:`ClusterError` line that says what to fix. Every request is
bounded (``TIMEOUTS_S``: connect, then each wait for the server's bytes), so a hung job server is named in
seconds, not waited on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Mapping, TextIO

from ..errors import ClusterError

if TYPE_CHECKING:
    from ray.job_submission import JobSubmissionClient

    from .submission import Submission

DEFAULT_TOKEN_FILE = Path("~/.ray/auth_token")
TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces: what an HTTP header value can carry
# `dl-drawbacks job submit --follow` / `job logs --follow` exit with the job's outcome.
EXIT_CODES = {"SUCCEEDED": 0, "FAILED": 1, "STOPPED": 3}
TIMEOUTS_S = (10.0, 30.0)  # requests' (connect, read) timeouts for every call to the job server
FOLLOW_HEARTBEAT_S = 20.0  # `logs --follow`: a ping this often; no answer within half of it ends the follow
_QUIET = ("ray.dashboard.modules.dashboard_sdk", "ray.dashboard.modules.job.sdk", "ray._private.runtime_env.packaging")


def normalise_address(address: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The job server's URL: ``--address``, else ``$RAY_API_SERVER_ADDRESS``, else ``$RAY_ADDRESS`` (the order
    `ray job` reads them in, ray/dashboard/utils.py ``get_address_for_submission_client``)."""
    environ = os.environ if environ is None else environ
    source = "--address"
    if not address:
        source, address = next(((name, environ[name].strip()) for name in ("RAY_API_SERVER_ADDRESS", "RAY_ADDRESS")
                                if environ.get(name, "").strip()), (None, ""))
    if not address:
        raise ClusterError("no job server address: pass --address http://HOST:8265 (the Ray dashboard port) "
                           "or set RAY_ADDRESS (or RAY_API_SERVER_ADDRESS), as for `ray job`")
    if "://" not in address:
        address = f"http://{address}"
    if not address.startswith(("http://", "https://")):
        raise ClusterError(f"{source} {address}: the job server speaks HTTP; give http://HOST:8265 "
                           f"(the dashboard port), not a ray:// or GCS address")
    return address.rstrip("/")


def auth_headers(token_file: str | Path | None = None, environ: dict[str, str] | None = None) -> dict[str, str]:
    """``{"Authorization": "Bearer …"}`` when a token is configured, else ``{}``."""
    environ = dict(os.environ if environ is None else environ)
    if token_file is not None:
        path = Path(token_file).expanduser()
        if not path.is_file():
            raise ClusterError(f"--token-file {path}: no such file; point it at the cluster's token "
                               f"(`ray get-auth-token` prints it)")
        token, source = _read_token(path, f"--token-file {path}"), f"--token-file {path}"
    elif environ.get("RAY_AUTH_MODE", "").strip().lower() == "disabled":
        return {}
    elif environ.get("RAY_AUTH_TOKEN", "").strip():
        token, source = environ["RAY_AUTH_TOKEN"].strip(), "RAY_AUTH_TOKEN"
    elif DEFAULT_TOKEN_FILE.expanduser().is_file():
        path = DEFAULT_TOKEN_FILE.expanduser()
        token, source = _read_token(path, str(path)), str(path)
    else:
        return {}
    if token and not TOKEN_CHARS.fullmatch(token):  # a header with a line break fails deep in the SDK, echoing it
        raise ClusterError(f"the token from {source} holds whitespace or control characters (a line break inside it?); "
                           f"it should be one line of printable characters: `ray get-auth-token` prints it")
    return {"Authorization": f"Bearer {token}"} if token else {}


def _read_token(path: Path, source: str) -> str:
    try:
        return path.read_bytes().decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ClusterError(f"{source}: cannot read the token ({type(exc).__name__})") from None


@contextmanager
def translated_errors(address: str, job_id: str | None = None) -> Iterator[None]:
    """Turn the SDK's connection, authentication and not-found errors into one-line ClusterErrors."""
    import requests
    from ray.exceptions import AuthenticationError

    try:
        yield
    except AuthenticationError as exc:
        refused = "403" in str(exc) or "failed" in str(exc).lower()
        what = "rejected the token" if refused else "needs a token"
        raise ClusterError(
            f"the Ray job server at {address} {what}: set RAY_AUTH_TOKEN or --token-file to the cluster's token "
            f"(`ray get-auth-token` on the head; on KubeRay the cluster's auth Secret)"
        ) from None
    except requests.exceptions.Timeout:
        raise ClusterError(
            f"the Ray job server at {address} did not answer within {TIMEOUTS_S[1]:g} s (a hung head, or not a job "
            f"server?): check --address (the dashboard port, default 8265) and the head node"
        ) from None
    except (ConnectionError, requests.exceptions.ConnectionError):
        raise ClusterError(
            f"cannot reach a Ray job server at {address}: check --address (the dashboard port, default 8265; "
            f"on Kubernetes `kubectl port-forward svc/<cluster>-head-svc 8265:8265`) "
            f"and that the head runs ray[default]"
        ) from None
    except RuntimeError as exc:
        text = str(exc)
        if job_id is not None and ("404" in text or "does not exist" in text):
            raise ClusterError(f"no job {job_id!r} on the Ray job server at {address}; "
                               f"check the id that submit printed") from None
        first = re.sub(r"\s+", " ", text).strip()[:300]
        raise ClusterError(f"the Ray job server at {address} failed the request: {first}") from None


def _bounded_client():
    """Ray's JobSubmissionClient with ``TIMEOUTS_S`` on every request (the SDK sets none), and a log stream
    (``tail_job_logs``, the SDK's websocket, which waits without end on a server that stops answering) bounded:
    ``TIMEOUTS_S`` to open it, then a ping every ``FOLLOW_HEARTBEAT_S`` that must be answered within half of it
    (aiohttp's heartbeat), so a hung job server ends a follow in one line within 30 s; a quiet job does not."""
    import aiohttp
    from ray.job_submission import JobSubmissionClient

    class BoundedJobSubmissionClient(JobSubmissionClient):
        def _do_request(self, method, endpoint, **kwargs):
            kwargs.setdefault("timeout", TIMEOUTS_S)
            return super()._do_request(method, endpoint, **kwargs)

        async def tail_job_logs(self, job_id: str):
            stalled = (f"the Ray job server at {self._address} stopped answering while following the log of job "
                       f"{job_id}")
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=TIMEOUTS_S[0])
            async with aiohttp.ClientSession(cookies=self._cookies, headers=self._headers, timeout=timeout) as session:
                try:
                    ws = await asyncio.wait_for(session.ws_connect(
                        f"{self._address}/api/jobs/{job_id}/logs/tail", headers=self._headers, ssl=self._ssl_context,
                        heartbeat=FOLLOW_HEARTBEAT_S), TIMEOUTS_S[1])
                except asyncio.TimeoutError:
                    raise ClusterError(f"{stalled} (the log stream did not open within {TIMEOUTS_S[1]:g} s): check "
                                       f"the head node; `dl-drawbacks job status {job_id}` says whether the job "
                                       f"runs") from None
                while True:
                    msg = await ws.receive()
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        yield msg.data
                        continue
                    if isinstance(ws.exception(), (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
                        raise ClusterError(f"{stalled} (no answer to a ping within {FOLLOW_HEARTBEAT_S / 2:g} s): "
                                           f"check the head node; `dl-drawbacks job status {job_id}` says whether "
                                           f"the job runs")
                    if msg.type == aiohttp.WSMsgType.ERROR or ws.close_code == aiohttp.WSCloseCode.ABNORMAL_CLOSURE:
                        raise RuntimeError(f"the log stream of job {job_id} closed early")  # follow() reads the status
                    return

    return BoundedJobSubmissionClient


def connect(address: str | None, *, token_file: str | Path | None = None) -> "JobSubmissionClient":
    """A client for the job server at ``address`` (checked: reachable, token accepted)."""
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    address = normalise_address(address)
    headers = auth_headers(token_file)
    with translated_errors(address):
        return _bounded_client()(address, headers=headers)


def submit(client: "JobSubmissionClient", submission: "Submission") -> str:
    with translated_errors(client.get_address()):
        return client.submit_job(entrypoint=submission.entrypoint, runtime_env=submission.runtime_env,
                                 submission_id=submission.submission_id, metadata=submission.metadata)


def submissions(client: "JobSubmissionClient") -> list:
    """Every job submitted to the server (drivers started by `ray.init` alone are left out), oldest first."""
    with translated_errors(client.get_address()):
        jobs = client.list_jobs()
    return sorted((j for j in jobs if j.submission_id), key=lambda j: (j.start_time or 0, j.submission_id))


def info(client: "JobSubmissionClient", job_id: str):
    with translated_errors(client.get_address(), job_id):
        return client.get_job_info(job_id)


def logs(client: "JobSubmissionClient", job_id: str) -> str:
    with translated_errors(client.get_address(), job_id):
        return client.get_job_logs(job_id)


def stop(client: "JobSubmissionClient", job_id: str) -> bool:
    """Ask the job to stop; False when it had already ended."""
    with translated_errors(client.get_address(), job_id):
        return client.stop_job(job_id)


def wait(client: "JobSubmissionClient", job_id: str, *, poll_s: float = 1.0, timeout_s: float | None = None) -> str:
    """Block until the job ends; returns its status name (SUCCEEDED, FAILED, STOPPED)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        with translated_errors(client.get_address(), job_id):
            status = client.get_job_status(job_id)
        if status.is_terminal():
            return str(status.value)
        if deadline is not None and time.monotonic() > deadline:
            raise ClusterError(f"job {job_id} is still {status.value} after {timeout_s:g} s")
        time.sleep(poll_s)


def follow(client: "JobSubmissionClient", job_id: str, stream: TextIO | None = None) -> str:
    """Copy the job's log to ``stream`` as it grows, until the job ends; returns its status name."""
    import aiohttp

    stream = stream or sys.stdout

    async def tail() -> None:
        async for chunk in client.tail_job_logs(job_id):
            stream.write(chunk)
            stream.flush()

    with translated_errors(client.get_address(), job_id):
        client.get_job_status(job_id)  # an unknown id fails here, in one line
    try:
        asyncio.run(tail())
    except (RuntimeError, OSError, aiohttp.ClientError):  # the log socket closed early: the job's status still decides
        pass
    return wait(client, job_id)
