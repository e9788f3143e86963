"""The run lock on a bucket: one ``.lock`` object holding host, pid, start time, a token and a heartbeat.

Object stores have no flock, and pyarrow's filesystems expose no atomic create-if-absent (S3's conditional
``If-None-Match: *`` PUT is not reachable through ``pyarrow.fs``), so the lock is read, written, then read
back after ``SETTLE_S``: of two drivers that raced, only the one whose token is still there goes on.
The holder refreshes ``heartbeat`` every ``HEARTBEAT_S`` from a thread. A lock is taken over when its holder
is gone: on the same host, when its pid is no longer running; from another host (a new RayJob pod), when
its heartbeat is older than ``STALE_S`` (``--resume`` waits that long for a fresh one to go stale: a
resubmitted RayJob starts while the dead pod's heartbeat is recent). A holder told to stop records
``state: stopping`` (stopping.py), and ``--resume`` waits a bounded time for it to release the lock.
Anything else refuses in one line naming the holder.

Fencing: a holder frozen past ``STALE_S`` (SIGSTOP, a paused VM) loses the lock to a ``--resume`` elsewhere
and must not write when it thaws. Each lock carries a fencing token (``fence``: the previous holder's plus
one) beside its run id. The API, all that callers use:

- ``with BucketLock(bucket, wait_s=...) as lock``: acquire (refused in one line naming the holder), heartbeat
  from a thread, release on exit;
- ``lock.check()``: before every write to the bucket; raises :class:`LockLost` (exit 1, one line naming the
  new holder) unless the ``.lock`` object is still this run's;
- ``lock.token`` (run id and fence) travels with the run folder's address to every trial; a trial on any node
  checks it (``check_fence``) before it writes its rows and before its marker, and refuses in one line;
- the heartbeat thread checks the same way: a holder that finds its lock taken says so in one line, stops
  the local Ray cluster it started (its trials write to the bucket too) and exits 1, writing nothing more.
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
from . import stopping
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


class LockLost(RunFolderError):
    """Another run took this run's lock over (this one was frozen past ``STALE_S``); nothing more is written."""

    exit_code = 1


def read_holder(bucket: Bucket) -> dict[str, Any] | None:
    """The ``.lock`` object's record (None when there is none, {} when it is damaged)."""
    data = bucket.read_bytes(LOCK)
    try:
        holder = json.loads(data) if data is not None else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}  # a damaged lock: nobody we can wait for
    return holder if isinstance(holder, dict) else {}


def holds(holder: dict[str, Any] | None, token: dict[str, Any]) -> bool:
    """Whether ``holder`` is the lock whose fencing token (run id and fence) is ``token``."""
    return bool(holder) and holder.get("run") == token["run"] and holder.get("fence") == token["fence"]


def check_fence(bucket: Bucket, token: dict[str, Any], what: str) -> None:
    """Before a worker writes ``what`` to the bucket: raise LockLost (one line) unless the driver that started it
    (``token``, passed with the run folder's address) still holds the run's lock."""
    holder = read_holder(bucket)
    if not holds(holder, token):
        taker = f"to {describe(holder)}, fence {holder.get('fence', '?')}" if holder else "(the lock object is gone)"
        raise LockLost(f"{bucket.uri}: the run that started this trial (fence {token['fence']}) lost its lock {taker}; "
                       f"{what} not written")


class BucketLock:
    """Held for the lifetime of one `run` on a bucket prefix; released (the object deleted) on exit."""

    def __init__(self, bucket: Bucket, *, wait_s: float = 0.0, stopping_wait_s: float = 0.0) -> None:
        self.bucket, self.wait_s, self.stopping_wait_s = bucket, wait_s, stopping_wait_s
        self.record = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time(),
                       "run": secrets.token_hex(8)}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _read(self) -> dict[str, Any] | None:
        return read_holder(self.bucket)

    @property
    def token(self) -> dict[str, Any]:
        """This holder's fencing token: what a trial on another node checks before it writes (``check_fence``)."""
        return {"run": self.record["run"], "fence": self.record["fence"]}

    def _write(self) -> None:
        self.bucket.write_bytes(LOCK, json.dumps({**self.record, "heartbeat": time.time()}).encode())

    def _ours(self, holder: dict[str, Any] | None) -> bool:
        return holds(holder, self.record)

    def check(self) -> None:
        """Raise LockLost unless the bucket's lock is still this run's (call before every write)."""
        holder = self._read()
        if not self._ours(holder):
            raise LockLost(self._lost_message(holder))

    def _lost_message(self, holder: dict[str, Any] | None) -> str:
        taker = f"to {describe(holder)}, fence {holder.get('fence', '?')}" if holder else "(the lock object is gone)"
        return (f"{self.bucket.uri}: this run lost its lock {taker} (it was frozen or cut off for more than "
                f"{STALE_S:g} s); stopping without writing more; the run that holds it now goes on")

    def _refuse(self, holder: dict[str, Any], *, waited: float | None = None) -> RunFolderError:
        late = "" if waited is None else f", which was stopping but did not let go in {waited:g} s"
        return RunFolderError(f"{self.bucket.uri} is in use by another dl-drawbacks run ({describe(holder)}){late}; "
                              f"wait for it or choose another --out")

    def _wait_for_holder(self) -> dict[str, Any] | None:
        """Return (the gone holder's record, or None) once the lock is free or its holder gone; wait up to
        ``wait_s`` for a heartbeat from another host to go stale (a resubmitted RayJob's new pod, right after
        the old one died), and up to ``stopping_wait_s`` for a holder that was told to stop to release it."""
        start = time.time()
        holder = self._read()
        said = None
        while holder and not holder_gone(holder, now=time.time(), host=self.record["host"]):
            if holder.get("state") == "stopping":
                if time.time() >= start + self.stopping_wait_s:
                    raise self._refuse(holder, waited=self.stopping_wait_s)
                line, pause = (f"waiting up to {self.stopping_wait_s:g} s for the stopped run ({describe(holder)}) "
                               f"to let go of {self.bucket.uri}"), stopping.POLL_S * 4
            elif time.time() >= start + self.wait_s or holder.get("host") == self.record["host"]:
                raise self._refuse(holder)
            else:
                line = f"waiting for the lock of {describe(holder)} to go stale (heartbeat older than {STALE_S:g} s)"
                pause = min(HEARTBEAT_S, max(start + self.wait_s - time.time(), 0.0))
            if line != said:
                print(line, file=sys.stderr, flush=True)
                said = line
            time.sleep(pause)
            holder = self._read()
        return holder

    def __enter__(self) -> "BucketLock":
        previous = self._wait_for_holder()
        fence = previous.get("fence") if previous else 0
        self.record["fence"] = (fence if isinstance(fence, int) else 0) + 1
        self._write()
        self._settle()
        now = self._read() or {}
        if not self._ours(now):
            raise self._refuse(now)
        self._thread = threading.Thread(target=self._beat, name="dl-drawbacks-lock", daemon=True)
        self._thread.start()
        stopping.hold(self)
        return self

    def mark_stopping(self) -> None:
        """The record says ``state: stopping`` from now on (every heartbeat writes it); written at once from a
        thread, so that a signal handler never waits on the store."""
        self.record["state"] = "stopping"
        threading.Thread(target=self._write_quietly, name="dl-drawbacks-lock-stopping", daemon=True).start()

    def _write_quietly(self) -> None:
        try:
            if self._ours(self._read()):
                self._write()
        except OSError:  # the next heartbeat writes it
            pass

    def _settle(self) -> None:
        """Give a driver that raced us time to overwrite the lock before we read it back."""
        time.sleep(SETTLE_S)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                holder = self._read()
            except OSError:  # the store is briefly unreachable: the next beat tries again
                continue
            if not self._ours(holder):
                self._quit_lost(holder)
            try:
                self._write()
            except OSError:
                pass

    def _quit_lost(self, holder: dict[str, Any] | None) -> None:
        """From the heartbeat thread: one line, the local cluster stopped, exit 1 at once (no write after)."""
        from ..ray_processes import kill_own_cluster

        print(f"error: {self._lost_message(holder)}", file=sys.stderr, flush=True)
        try:
            kill_own_cluster()
        finally:
            os._exit(LockLost.exit_code)

    def __exit__(self, *exc: object) -> None:
        stopping.release(self)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            if self._ours(self._read()):
                self.bucket.delete(LOCK)
        except OSError:  # left behind: the next run takes it over once this pid is gone
            pass
