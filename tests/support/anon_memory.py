"""Anonymous resident memory of a process (``RssAnon`` in /proc/PID/status): unlike RSS it leaves out the
pages of memory-mapped files, so it grows only with what a process copies into its own memory."""

from __future__ import annotations


def rss_anon_bytes(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no RssAnon line in /proc status (Linux only)")
