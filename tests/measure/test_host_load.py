"""Host load: load average per CPU and the stolen share of CPU time, read from a /proc-shaped folder."""

from __future__ import annotations

import os

import pytest

from dl_drawbacks.measure.host_load import snapshot, steal_fraction


def _proc(path, load: str, cpu: list[int]):
    path.mkdir(exist_ok=True)
    (path / "loadavg").write_text(f"{load} 1.00 1.00 2/300 4242\n")
    (path / "stat").write_text("cpu  " + " ".join(map(str, cpu)) + "\ncpu0 1 2 3\n")
    return path


def test_load_is_per_cpu_and_steal_is_the_stolen_share_between_snapshots(tmp_path):
    #                user nice sys idle iowait irq softirq steal guest guest_nice
    start = snapshot(_proc(tmp_path / "a", "4.00", [100, 0, 50, 800, 0, 0, 0, 50, 30, 0]))
    end = snapshot(_proc(tmp_path / "b", "6.00", [200, 0, 100, 1500, 0, 0, 0, 200, 60, 0]))
    assert start.load_per_cpu == pytest.approx(4.0 / os.cpu_count())
    assert start.total_jiffies == 1000  # guest time is already inside user: not counted twice
    assert steal_fraction(start, end) == pytest.approx(150 / 1000)
    assert steal_fraction(start, start) is None


def test_no_proc_gives_none_not_an_error(tmp_path):
    empty = snapshot(tmp_path)
    assert empty.load_per_cpu is None and steal_fraction(empty, empty) is None


def test_this_host_is_readable():
    now = snapshot()
    assert now.load_per_cpu is not None and now.load_per_cpu >= 0 and now.steal_jiffies is not None
