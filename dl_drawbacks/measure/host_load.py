"""Host load around a timed block: the 1-minute load average per online CPU at its start and end, and the share
of CPU time the hypervisor stole (``steal`` of /proc/stat, proc(5)) during it.

A timing taken on a loaded host measures co-tenancy as much as the code; every trial records these figures so a
timing finding can say how loaded its host was. On a system without /proc (macOS), the figures are None.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class HostSnapshot:
    load_per_cpu: float | None  # 1-minute load average / online CPUs
    steal_jiffies: int | None
    total_jiffies: int | None


def _cpu_line(proc: Path) -> list[int] | None:
    try:
        first = (proc / "stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    return [int(v) for v in first[1:]] if first and first[0] == "cpu" else None


def snapshot(proc: Path = PROC) -> HostSnapshot:
    """The host's load now (``proc``: the /proc to read, a folder in tests)."""
    try:
        load = float((proc / "loadavg").read_text().split()[0]) / (os.cpu_count() or 1)
    except OSError:
        load = None
    fields = _cpu_line(proc)
    if fields is None or len(fields) < 8:  # steal is the 8th field (Linux >= 2.6.11)
        return HostSnapshot(load, None, None)
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest time is inside user)
    return HostSnapshot(load, fields[7], total)


def steal_fraction(start: HostSnapshot, end: HostSnapshot) -> float | None:
    """Stolen share of all CPU time between two snapshots (None without /proc/stat or with no time between)."""
    if start.steal_jiffies is None or end.steal_jiffies is None:
        return None
    elapsed = end.total_jiffies - start.total_jiffies
    return (end.steal_jiffies - start.steal_jiffies) / elapsed if elapsed > 0 else None
