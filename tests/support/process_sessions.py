"""Test helpers: end every process of a process session (a driver or Ray head started with start_new_session);
wait until a CLI process has installed its signal handlers."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil


def end_session(sid: int) -> None:
    """SIGKILL every process whose session id is ``sid`` (the leader's pid): its Ray children included."""
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == sid:
                os.kill(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def wait_for_signal_handlers(pid: int, timeout_s: float = 60) -> None:
    """Until process ``pid`` catches SIGTERM (``SigCgt`` in /proc): the CLI's `main` has started. Before that
    the interpreter itself starts up, a window no Python code can cover."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        status = Path(f"/proc/{pid}/status").read_text()
        caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
        if caught & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} never installed its signal handlers")
