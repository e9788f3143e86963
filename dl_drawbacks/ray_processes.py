"""The processes of the local Ray cluster a driver started: recorded when it starts, killed when the driver
quits on a signal, and cleaned up by the next run when the driver was killed (SIGKILL, a lost terminal).

Ray starts the GCS and the raylet so that they die with their driver (PR_SET_PDEATHSIG), and workers exit when
their raylet is gone, but the raylet's agents (``ray::DashboardAgent``, ``ray::RuntimeEnvAgent``) outlive a
killed driver (measured with Ray 2.60: both still running 48 s after SIGKILL of the driver). A record is a
file ``<driver pid>.json`` in ``$DL_DRAWBACKS_STATE/ray-clusters`` (default ``~/.cache/dl-drawbacks``) naming
each process by pid and start time, so a pid reused by someone else's process is never signalled.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
from pathlib import Path

import psutil


def records_dir() -> Path:
    root = os.environ.get("DL_DRAWBACKS_STATE") or Path.home() / ".cache" / "dl-drawbacks"
    return Path(root) / "ray-clusters"


def _identity(proc: psutil.Process) -> list:
    return [proc.pid, proc.create_time()]


def _descendants() -> list[psutil.Process]:
    try:
        return psutil.Process().children(recursive=True)
    except psutil.Error:
        return []


def record_local_cluster() -> Path:
    """Write this driver's record (its own identity and every process below it: the cluster just started);
    removed again when the driver exits normally."""
    me = psutil.Process()
    path = records_dir() / f"{me.pid}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    procs = []
    for proc in _descendants():
        try:
            procs.append(_identity(proc))
        except psutil.Error:
            pass
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"driver": _identity(me), "processes": procs}))
    os.replace(tmp, path)
    atexit.register(path.unlink, missing_ok=True)
    return path


def _alive(pid: int, created: float) -> psutil.Process | None:
    try:
        proc = psutil.Process(pid)
        return proc if abs(proc.create_time() - created) < 0.01 and proc.status() != psutil.STATUS_ZOMBIE else None
    except psutil.Error:
        return None


def _kill(procs: list[psutil.Process]) -> int:
    killed = 0
    for proc in procs:
        try:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=5)
    return killed


def kill_own_cluster() -> None:
    """At a quit: SIGKILL every process below this driver and every recorded one (the raylet's agents
    included), then drop the record. A no-op for a driver that started no cluster."""
    path = records_dir() / f"{os.getpid()}.json"
    procs = _descendants()
    if path.exists():
        try:
            recorded = json.loads(path.read_text())["processes"]
        except (OSError, ValueError, KeyError):
            recorded = []
        known = {p.pid for p in procs}
        procs += [p for p in (_alive(pid, created) for pid, created in recorded) if p and p.pid not in known]
    _kill(procs)
    path.unlink(missing_ok=True)


def clean_up_orphans() -> list[str]:
    """Kill what a killed driver's cluster left behind; one line per record cleaned up."""
    lines = []
    folder = records_dir()
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text())
            driver, recorded = record["driver"], record["processes"]
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)
            continue
        if _alive(*driver):
            continue
        left = [p for p in (_alive(pid, created) for pid, created in recorded) if p]
        if left:
            lines.append(f"stopped {_kill(left)} Ray processes left behind by a killed run (driver pid {driver[0]})")
        path.unlink(missing_ok=True)
    return lines
