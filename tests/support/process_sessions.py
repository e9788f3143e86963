"""Test helper: end every process of a process session (a driver or Ray head started with start_new_session)."""

from __future__ import annotations

import os
import signal

import psutil


def end_session(sid: int) -> None:
    """SIGKILL every process whose session id is ``sid`` (the leader's pid): its Ray children included."""
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == sid:
                os.kill(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
