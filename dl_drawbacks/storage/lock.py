"""The run lock on a bucket: one ``.lock`` object holding host, pid, start time, a token and a heartbeat.

Object stores have no flock, and pyarrow's filesystems expose no atomic create-if-absent (S3's conditional
``If-None-Match: *`` PUT is not reachable through ``pyarrow.fs``), so the lock is read, written, then read
back after ``SETTLE_S``: of two drivers that raced, only the one whose token is still there goes on.
The holder refreshes ``heartbeat`` every ``HEARTBEAT_S`` from a thread. A lock is taken over when its holder
is gone: on the same host, when its pid is no longer running; from another host (a new RayJob pod), when
its heartbeat is older than ``STALE_S`` (``--resume`` waits that long for a fresh one to go stale: a
resubmitted RayJob starts while the dead pod's heartbeat is recent). Anything else refuses in one line
naming the holder.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
import threading
import time
from typing import Any

from ..errors import RunFolderError
from .bucket import Bucket

LOCK = ".lock"
HEARTBEAT_S = 20.0
STALE_S = 90.0
SETTLE_S = 1.0


def _pid_running(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:  # someone else's process: running
        return True
    return True


def holder_gone(holder: dict[str, Any], *, now: float, host: str) -> bool:
    """Whether the lock's holder can no longer be running: same host and dead pid, or a stale heartbeat."""
    if holder.get("host") == host:
        return not _pid_running(holder.get("pid"))
    beat = holder.get("heartbeat")
    return not isinstance(beat, (int, float)) or now - beat > STALE_S


def describe(holder: dict[str, Any]) -> str:
    started = holder.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)) if isinstance(started, (int, float)) else "?"
    return f"host {holder.get('host', '?')} pid {holder.get('pid', '?')}, started {when}, run {holder.get('run', '?')}"


class BucketLock:
    """Held for the lifetime of one `run` on a bucket prefix; released (the object deleted) on exit."""

    def __init__(self, bucket: Bucket, *, wait_s: float = 0.0) -> None:
        self.bucket, self.wait_s = bucket, wait_s
        self.record = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time(),
                       "run": secrets.token_hex(8)}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _read(self) -> dict[str, Any] | None:
        data = self.bucket.read_bytes(LOCK)
        try:
            holder = json.loads(data) if data is not None else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return {}  # a damaged lock: nobody we can wait for
        return holder if isinstance(holder, dict) else {}

    def _write(self) -> None:
        self.bucket.write_bytes(LOCK, json.dumps({**self.record, "heartbeat": time.time()}).encode())

    def _refuse(self, holder: dict[str, Any]) -> RunFolderError:
        return RunFolderError(f"{self.bucket.uri} is in use by another dl-drawbacks run ({describe(holder)}); wait "
                              f"for it or choose another --out")

    def _wait_for_holder(self) -> None:
        """Return once the lock is free or its holder gone; wait up to ``wait_s`` for a heartbeat from another
        host to go stale (a resubmitted RayJob's new pod, right after the old one died)."""
        deadline = time.time() + self.wait_s
        holder = self._read()
        while holder and not holder_gone(holder, now=time.time(), host=self.record["host"]):
            if time.time() >= deadline or holder.get("host") == self.record["host"]:
                raise self._refuse(holder)
            print(f"waiting for the lock of {describe(holder)} to go stale (heartbeat older than {STALE_S:g} s)",
                  file=sys.stderr, flush=True)
            time.sleep(min(HEARTBEAT_S, max(deadline - time.time(), 0.0)))
            holder = self._read()

    def __enter__(self) -> "BucketLock":
        self._wait_for_holder()
        self._write()
        self._settle()
        now = self._read() or {}
        if now.get("run") != self.record["run"]:
            raise self._refuse(now)
        self._thread = threading.Thread(target=self._beat, name="dl-drawbacks-lock", daemon=True)
        self._thread.start()
        return self

    def _settle(self) -> None:
        """Give a driver that raced us time to overwrite the lock before we read it back."""
        time.sleep(SETTLE_S)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                if (self._read() or {}).get("run") == self.record["run"]:
                    self._write()
            except OSError:  # the store is briefly unreachable: the next beat tries again
                pass

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            if (self._read() or {}).get("run") == self.record["run"]:
                self.bucket.delete(LOCK)
        except OSError:  # left behind: the next run takes it over once this pid is gone
            pass
