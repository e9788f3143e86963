"""A run that was told to stop says so in its lock, so that a `--resume` right after waits for it to let go.

`dl-drawbacks job stop` (Ray's job supervisor: SIGTERM, SIGKILL 3 s later, then STOPPED at once) and a Ctrl-C
both leave the stopped driver holding its run folder's lock for a moment after the stop is reported: it still
records its unfinished trials and writes its report, or the kernel is still tearing the process down. A
`--resume` submitted in that window used to be refused as "in use by another run". Now the signal handler
(interrupt.py) calls ``mark_stopping``: every lock this process holds (``RunLock`` on a local folder,
``BucketLock`` on a bucket) records that its holder is stopping, and a `--resume` that finds such a holder waits
up to ``STOPPING_WAIT_S`` for it to release the lock, saying so in one line, instead of failing; a holder that is
not stopping is refused at once as before.
"""

from __future__ import annotations

import os
from typing import Protocol

STOPPING_WAIT_S = float(os.environ.get("DL_DRAWBACKS_STOPPING_WAIT_S", 120))
POLL_S = 0.25


class StoppableLock(Protocol):
    def mark_stopping(self) -> None:
        """Record in the lock that its holder is stopping (it must not block: called from a signal handler)."""


_held: list[StoppableLock] = []


def hold(lock: StoppableLock) -> None:
    _held.append(lock)


def release(lock: StoppableLock) -> None:
    if lock in _held:
        _held.remove(lock)


def mark_stopping() -> None:
    """Every lock this process holds says its holder is stopping."""
    for lock in list(_held):
        lock.mark_stopping()
