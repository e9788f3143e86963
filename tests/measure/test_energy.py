import logging
import math
import os
import time
from pathlib import Path

import pytest
import torch

from dl_drawbacks.measure import energy
from dl_drawbacks.measure.energy import (
    EnergyMeter,
    EstimatedProcessMeter,
    NvmlGpuMeter,
    RaplNodeMeter,
    meters_for_worker,
    nvml_indices_for_visible_devices,
    rapl_readable,
)

MAX_UJ = 262_143_328_850


def _write(path: Path, value) -> None:
    """Atomic write, as sysfs reads are: the polling thread never sees a half-written file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{value}\n")
    os.replace(tmp, path)


def _domain(root: Path, name: str, label: str, uj: int) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "name").write_text(label + "\n")
    (d / "max_energy_range_uj").write_text(f"{MAX_UJ}\n")
    _write(d / "energy_uj", uj)
    return d


@pytest.fixture
def rapl_root(tmp_path):
    """Two packages, a core sub-domain and a psys domain that must not be counted."""
    (tmp_path / "intel-rapl").mkdir()  # the control-type folder, not a domain
    _domain(tmp_path, "intel-rapl:0", "package-0", 1_000_000)
    _domain(tmp_path, "intel-rapl:0:0", "core", 5)
    _domain(tmp_path, "intel-rapl:1", "package-1", MAX_UJ - 500_000)
    _domain(tmp_path, "intel-rapl:2", "psys", 7)
    return tmp_path


def test_rapl_sums_packages_and_handles_wrap(rapl_root):
    meter = RaplNodeMeter(rapl_root)
    assert meter.provenance == "rapl" and meter.device.startswith("node:")
    meter.start()
    _write(rapl_root / "intel-rapl:0" / "energy_uj", 3_500_000)  # +2.5 J
    _write(rapl_root / "intel-rapl:1" / "energy_uj", 1_500_000)  # wrapped: +2.0 J
    _write(rapl_root / "intel-rapl:0:0" / "energy_uj", 999_999_999)  # sub-domain: ignored
    _write(rapl_root / "intel-rapl:2" / "energy_uj", 999_999_999)  # psys: ignored
    assert meter.stop() == pytest.approx(4.5, abs=1e-9)


def test_rapl_polling_catches_several_wraps(rapl_root):
    meter = RaplNodeMeter(rapl_root, poll_s=0.01)
    pkg1 = rapl_root / "intel-rapl:1" / "energy_uj"
    meter.start()
    for value in (1_000_000, MAX_UJ - 1_000_000, 2_000_000):  # two wraps of package 1
        _write(pkg1, value)
        time.sleep(0.15)
    joules = meter.stop()
    assert joules == pytest.approx((MAX_UJ + 2_500_000) / 1e6, abs=1e-6)


def test_rapl_vanished_counter_gives_nan_not_error(rapl_root, caplog):
    meter = RaplNodeMeter(rapl_root)
    meter.start()
    (rapl_root / "intel-rapl:1" / "energy_uj").unlink()
    with caplog.at_level(logging.WARNING):
        assert math.isnan(meter.stop())
    assert "intel-rapl:1" in caplog.text


def test_rapl_readable(rapl_root, tmp_path_factory):
    assert rapl_readable(rapl_root)
    assert not rapl_readable(tmp_path_factory.mktemp("empty"))
    assert not rapl_readable(Path("/nonexistent/powercap"))
    with pytest.raises(ValueError, match="no RAPL package domains"):
        RaplNodeMeter(tmp_path_factory.mktemp("none"))


def _spin(seconds: float) -> None:
    """Keep every core busy: a large matmul releases the GIL and runs on all torch threads."""
    torch.set_num_threads(os.cpu_count() or 1)
    a = torch.randn(512, 512)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        a @ a


def _busy_then_idle(queue) -> None:
    """In a fresh process (no Ray children of the test session in its process tree): the meter's charge while
    spinning and while sleeping, with the process's own CPU seconds over each window."""
    meter = EstimatedProcessMeter(10.0)
    meter.start()
    cpu0 = time.process_time()
    _spin(0.4)
    busy, cpu = meter.stop(), time.process_time() - cpu0
    meter.start()
    cpu0 = time.process_time()
    time.sleep(0.4)
    idle, cpu_idle = meter.stop(), time.process_time() - cpu0
    queue.put((meter.provenance, meter.device, busy, cpu, idle, cpu_idle, meter.idle_watts()))


def test_estimate_meter_charges_this_process_cpu_time():
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_busy_then_idle, args=(queue,))
    child.start()
    provenance, device, busy, cpu, idle, cpu_idle, idle_watts = queue.get(timeout=120)
    child.join()
    assert provenance == "estimate" and device.startswith("process:")
    assert busy == pytest.approx(10.0 * cpu, rel=0.2)  # its own CPU seconds, not the node's
    assert idle == pytest.approx(10.0 * cpu_idle, rel=0.5, abs=0.05)  # not the 0.4 s of wall time (4 J)
    assert idle < 0.25 * busy
    assert idle_watts == 0.0


def _sleeping_meter(queue) -> None:
    meter = EstimatedProcessMeter(10.0)
    meter.start()
    time.sleep(0.6)
    queue.put(meter.stop())


def test_estimate_never_charges_a_concurrent_trial_work():
    """Another process burning CPU at the same time costs the sleeping trial nothing (the old node-wide
    estimate charged each trial the whole node's busy time)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    other = ctx.Process(target=_sleeping_meter, args=(queue,))
    other.start()
    time.sleep(0.05)
    _spin(0.5)
    joules = queue.get(timeout=60)
    other.join()
    assert joules < 0.1 * 10.0 * 0.5


def test_estimate_meter_reads_while_running():
    meter = EstimatedProcessMeter(5.0)
    meter.start()
    _spin(0.1)
    first = meter.read()
    _spin(0.1)
    assert 0 < first < meter.stop()


def test_estimate_meter_refuses_nonpositive_watts():
    with pytest.raises(ValueError, match="watts_per_core"):
        EstimatedProcessMeter(0.0)


def test_node_counter_only_on_local_rank_zero_estimate_on_every_rank():
    rank0 = meters_for_worker(local_rank=0, use_gpu=False, cpu_watts_per_core=5.0)
    rank1 = meters_for_worker(local_rank=1, use_gpu=False, cpu_watts_per_core=5.0)
    assert isinstance(rank0[0], EnergyMeter)
    if rapl_readable():
        assert rank0[0].device.startswith("node:") and rank1 == []
    else:  # each worker's own process: summing the ranks counts every CPU second once
        assert [m.provenance for m in rank0 + rank1] == ["estimate", "estimate"]
        assert rank0[0].device.startswith("process:")


class _FakeNvml:
    """Just enough of pynvml: three GPUs whose energy counters the test sets."""

    class NVMLError(Exception):
        pass

    def __init__(self):
        self.energy_mj = {0: 1_000, 1: 50_000, 2: 0}
        self.fail = False

    def nvmlDeviceGetCount(self):
        return 3

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def nvmlDeviceGetName(self, h):
        return "NVIDIA H200"

    def nvmlDeviceGetUUID(self, h):
        return f"GPU-{h}{h}aa-bbbb"

    def nvmlDeviceGetTotalEnergyConsumption(self, h):
        if self.fail:
            raise self.NVMLError("GPU is lost")
        return self.energy_mj[h]


@pytest.fixture
def fake_nvml(monkeypatch):
    fake = _FakeNvml()
    monkeypatch.setattr(energy, "_nvml", lambda: fake)
    return fake


def test_nvml_meter_reports_joules_and_nan_when_counter_vanishes(fake_nvml, caplog):
    meter = NvmlGpuMeter(1)
    assert meter.device == "gpu:1:NVIDIA H200" and meter.provenance == "nvml"
    meter.start()
    fake_nvml.energy_mj[1] += 2_500
    assert meter.stop() == pytest.approx(2.5)
    meter.start()
    fake_nvml.fail = True
    with caplog.at_level(logging.WARNING):
        assert math.isnan(meter.stop())
    assert "GPU is lost" in caplog.text


@pytest.mark.parametrize(
    ("visible", "expected"),
    [(None, [0, 1, 2]), ("2,0", [2, 0]), ("", []), ("1,7,0", [1]), ("-1", []),
     ("GPU-22aa-bbbb,GPU-00", [2, 0]), ("MIG-abc", [])],
)
def test_visible_devices_map_to_nvml_indices(fake_nvml, monkeypatch, visible, expected):
    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert nvml_indices_for_visible_devices() == expected


def test_no_nvml_means_no_indices_and_no_gpu_meter(monkeypatch, caplog):
    monkeypatch.setattr(energy, "_nvml", lambda: None)
    assert nvml_indices_for_visible_devices() == []
    with caplog.at_level(logging.WARNING):
        meters = meters_for_worker(local_rank=1, use_gpu=True, cpu_watts_per_core=5.0)
    assert not [m for m in meters if m.provenance == "nvml"]
    assert "GPU energy is not measured" in caplog.text


def test_each_worker_meters_its_own_gpu(fake_nvml, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,1")
    rank0 = meters_for_worker(local_rank=0, use_gpu=True, cpu_watts_per_core=5.0)
    rank1 = meters_for_worker(local_rank=1, use_gpu=True, cpu_watts_per_core=5.0)
    assert [m.device for m in rank0 if m.provenance == "nvml"] == ["gpu:2:NVIDIA H200"]
    assert [m.device for m in rank1 if m.provenance == "nvml"] == ["gpu:1:NVIDIA H200"]
    explicit = meters_for_worker(local_rank=1, use_gpu=True, cpu_watts_per_core=5.0, gpu_index=0)
    assert explicit[0].device == "gpu:2:NVIDIA H200"
    with pytest.raises(ValueError, match="gpu_index 5"):
        meters_for_worker(local_rank=0, use_gpu=True, cpu_watts_per_core=5.0, gpu_index=5)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")  # Ray's one-GPU-per-worker layout
    only = meters_for_worker(local_rank=3, use_gpu=True, cpu_watts_per_core=5.0)
    assert [m.device for m in only if m.provenance == "nvml"] == ["gpu:1:NVIDIA H200"]


def test_estimate_is_not_zero_for_an_interval_shorter_than_a_kernel_tick():
    meter = EstimatedProcessMeter(10.0)
    meter.start()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 0.003:  # 3 ms of work: below the 10 ms tick of /proc/stat
        sum(range(100))
    joules = meter.stop()
    assert 0.003 * 10.0 * 0.5 < joules < 10.0 * 2 * 1.0  # at least most of this process's CPU time


def test_a_process_tree_is_read_from_the_kernel_children_lists_as_psutil_lists_it(monkeypatch):
    """The CPU estimate's descendants (children of children included) come from ``/proc/PID/task/TID/children``,
    the same processes psutil's machine-wide scan finds; without those lists, psutil's scan."""
    import subprocess

    import psutil

    tree = subprocess.Popen(["bash", "-c", "sleep 30 & (sleep 30 & wait) & wait"])
    try:
        me = psutil.Process()
        deadline = time.time() + 20
        while len(psutil.Process(tree.pid).children(recursive=True)) < 3 and time.time() < deadline:
            time.sleep(0.05)  # bash's sleep, its subshell and the subshell's sleep
        ours = {tree.pid, *(p.pid for p in psutil.Process(tree.pid).children(recursive=True))}
        expected = sorted(p.pid for p in me.children(recursive=True))  # with whatever else this process started
        assert len(ours) == 4 and ours <= set(expected) and energy._kernel_lists_children()  # Linux CI
        assert sorted(p.pid for p in energy.live_descendants(me)) == expected
        monkeypatch.setattr(energy, "_kernel_lists_children", lambda: False)
        assert sorted(p.pid for p in energy.live_descendants(me)) == expected
    finally:
        for p in psutil.Process(tree.pid).children(recursive=True) + [psutil.Process(tree.pid)]:
            p.kill()
        tree.wait()
