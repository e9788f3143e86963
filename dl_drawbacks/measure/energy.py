"""Energy meters, each physical device or node read once, never once per worker: GPUs by NVML (found by
their UUID), a node's CPUs by RAPL (powercap sysfs) when readable, else each worker's own process tree
by an estimate labelled as such (its CPU time x watts per core: a trial is charged its own share)."""

from __future__ import annotations

import functools
import itertools
import logging
import os
import socket
import threading
import time
import warnings
from pathlib import Path
from typing import Protocol, runtime_checkable

import psutil
import torch

log = logging.getLogger(__name__)
POWERCAP = Path("/sys/class/powercap")


@runtime_checkable
class EnergyMeter(Protocol):
    """Joules used by one physical device or node between ``start()`` and ``stop()``."""

    provenance: str  # "nvml" | "rapl" | "estimate"
    device: str  # e.g. "gpu:0:NVIDIA H200" or "node:<hostname>"

    def start(self) -> None: ...
    def read(self) -> float: ...  # joules since start(), the meter keeps running
    def stop(self) -> float: ...  # joules since start(); NaN (with a warning) if a counter vanished
    def idle_watts(self) -> float | None: ...  # power before training, where the counter can say it


@functools.cache
def _nvml():
    """The initialised pynvml module, or None without the library, a driver or a GPU."""
    with warnings.catch_warnings():  # the deprecated `pynvml` shim package warns on import
        warnings.simplefilter("ignore")
        try:
            import pynvml
        except ImportError:
            return None
    try:
        pynvml.nvmlInit()  # kept open for the life of the process
    except pynvml.NVMLError:  # no driver, no GPU
        return None
    return pynvml


class NvmlGpuMeter:
    """Joules of one GPU: delta of nvmlDeviceGetTotalEnergyConsumption (mJ since driver load)."""

    provenance = "nvml"

    def __init__(self, index: int):
        nvml = _nvml()
        if nvml is None:
            raise RuntimeError("NVML is not available: install nvidia-ml-py and an NVIDIA driver")
        self._nvml = nvml
        self._handle = nvml.nvmlDeviceGetHandleByIndex(index)
        self.device = f"gpu:{index}:{nvml.nvmlDeviceGetName(self._handle)}"  # str since nvml 11.5
        self._start_mj: int | None = None

    def _read_mj(self) -> int | None:
        try:
            return int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))
        except self._nvml.NVMLError as err:  # GPU lost, driver reloaded, counter unsupported
            log.warning("energy of %s not measured: NVML read failed (%s)", self.device, err)
            return None

    def start(self) -> None:
        self._start_mj = self._read_mj()

    def idle_watts(self, seconds: float = 1.0, samples: int = 5) -> float | None:
        """Median board power (W) over ``seconds`` before training: what the GPU draws doing nothing."""
        readings = []
        for _ in range(samples):
            try:
                readings.append(self._nvml.nvmlDeviceGetPowerUsage(self._handle) / 1000.0)
            except self._nvml.NVMLError:
                return None
            time.sleep(seconds / samples)
        return float(sorted(readings)[len(readings) // 2])

    def read(self) -> float:
        return self.stop()

    def stop(self) -> float:
        end_mj = self._read_mj()
        if self._start_mj is None or end_mj is None:
            return float("nan")
        if end_mj < self._start_mj:
            log.warning("energy of %s not measured: NVML counter went back", self.device)
            return float("nan")
        return (end_mj - self._start_mj) / 1000.0


def _package_domains(root: Path) -> list[Path]:
    """Top-level RAPL domains named package-N; psys is left out, it already holds the packages."""
    domains = []
    for domain in sorted(root.glob("intel-rapl:*")):
        if domain.name.count(":") != 1:  # intel-rapl:N:M are core/uncore/dram sub-domains
            continue
        name_file = domain / "name"
        if not name_file.exists() or name_file.read_text().strip().startswith("package"):
            domains.append(domain)
    return domains


def _read_uj(domain: Path) -> int | None:
    try:
        return int((domain / "energy_uj").read_text())
    except (OSError, ValueError) as err:
        log.warning("RAPL counter %s could not be read: %s", domain, err)
        return None


def rapl_readable(root: Path = POWERCAP) -> bool:
    """True when every RAPL package counter under ``root`` exists and this process can read it."""
    domains = _package_domains(root)
    try:
        return bool(domains) and all(int((d / "energy_uj").read_text()) >= 0 for d in domains)
    except (OSError, ValueError):  # absent (VMs) or root-only since Linux 5.10 (CVE-2020-8694)
        return False


class RaplNodeMeter:
    """Joules of all CPU packages of this node from powercap RAPL ``energy_uj`` counters.

    They wrap at ``max_energy_range_uj`` (minutes at full load on some CPUs), so a daemon thread
    folds in a reading every ``poll_s`` seconds."""

    provenance = "rapl"

    def __init__(self, root: Path = POWERCAP, *, poll_s: float = 5.0):
        self._domains = _package_domains(root)
        if not self._domains:
            raise ValueError(f"no RAPL package domains under {root}: use EstimatedProcessMeter")
        self._max_uj = [int((d / "max_energy_range_uj").read_text()) for d in self._domains]
        self.device = f"node:{socket.gethostname()}"
        self._poll_s, self._lock = poll_s, threading.Lock()
        self._last, self._total_uj, self._failed = [], 0, False
        self._done, self._thread = threading.Event(), None

    def _fold(self) -> None:
        """Add each counter's increase since its last reading (one wrap at most between reads)."""
        with self._lock:
            for i, domain in enumerate(self._domains):
                now, last = _read_uj(domain), self._last[i]
                if now is None or last is None:
                    self._failed = True
                    continue
                self._total_uj += now - last if now >= last else now + self._max_uj[i] - last
                self._last[i] = now

    def _poll(self) -> None:
        while not self._done.wait(self._poll_s):
            self._fold()

    def start(self) -> None:
        self._last = [_read_uj(d) for d in self._domains]
        self._failed = any(v is None for v in self._last)
        self._total_uj = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="rapl-poll", daemon=True)
        self._thread.start()

    def read(self) -> float:
        self._fold()
        return float("nan") if self._failed else self._total_uj / 1e6

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return self.read()

    def idle_watts(self) -> float | None:
        return None  # the node is shared: its idle draw is not this trial's to measure


def process_tree_cpu_seconds(process: psutil.Process | None = None) -> float:
    """User + system CPU seconds of a process, its reaped children and its live descendants."""
    process = process or psutil.Process()
    if process.pid == os.getpid():  # ns resolution for this process (psutil reads 10 ms ticks)
        reaped = os.times()
        total = time.process_time() + reaped.children_user + reaped.children_system
    else:
        times = process.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
    for child in live_descendants(process):
        try:
            child_times = child.cpu_times()
        except psutil.Error:  # exited between listing and reading
            continue
        total += child_times.user + child_times.system
    return total


@functools.cache
def _kernel_lists_children() -> bool:
    """Linux >= 3.5 with CONFIG_PROC_CHILDREN: each thread's children in ``/proc/PID/task/TID/children``."""
    return Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists()


def _kernel_children(pid: int) -> list[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        return [int(c) for t in tasks for c in Path(f"/proc/{pid}/task/{t}/children").read_text().split()]
    except (OSError, ValueError):  # the process or a thread exited while being read
        return []


def live_descendants(process: psutil.Process) -> list[psutil.Process]:
    """The live descendants of ``process``. psutil's ``children(recursive=True)`` reads the parent of every
    process on the machine (~10-20 ms per call on a busy node, paid at every window switch of every trial); the
    kernel's children lists cost a few reads per descendant. Where the kernel has none, psutil's answer."""
    if not _kernel_lists_children():
        return process.children(recursive=True)
    found, todo = [], [process.pid]
    while todo:
        children = _kernel_children(todo.pop())
        found += children
        todo += children
    out = []
    for pid in found:
        try:
            out.append(psutil.Process(pid))
        except psutil.Error:  # exited since it was listed
            continue
    return out


class EstimatedProcessMeter:
    """Estimate: watts_per_core x CPU seconds of this worker's own process tree (no RAPL counter).

    Charges a trial only the CPU time it used, so concurrent trials on one node never count each other's
    work and an idle node costs nothing. Energy is then proportional to CPU time by construction: it
    adds no evidence beyond the time measurement (the analysis says so).
    """

    provenance = "estimate"

    def __init__(self, watts_per_core: float):
        if not watts_per_core > 0:
            raise ValueError(f"watts_per_core must be > 0, got {watts_per_core}")
        self.watts_per_core = watts_per_core
        self._process = psutil.Process()
        self.device = f"process:{socket.gethostname()}:{self._process.pid}"
        self._cpu0: float | None = None

    def start(self) -> None:
        self._cpu0 = process_tree_cpu_seconds(self._process)

    def read(self) -> float:
        assert self._cpu0 is not None, "read() before start()"
        return self.watts_per_core * (process_tree_cpu_seconds(self._process) - self._cpu0)

    def stop(self) -> float:
        return self.read()

    def idle_watts(self) -> float | None:
        return 0.0  # an idle process uses no CPU time: the estimate has no idle share by construction


def _visible_entry_to_index(nvml, entry: str, count: int) -> int | None:
    """NVML index of one CUDA_VISIBLE_DEVICES entry; None ends the list, as CUDA does."""
    if entry.lstrip("-").isdigit():
        index = int(entry)  # CUDA ordinal; equals the NVML index with PCI_BUS_ID order or one model
        return index if 0 <= index < count else None
    if entry.upper().startswith("GPU-"):  # a full UUID or a unique prefix of one
        uuids = [nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetHandleByIndex(i)) for i in range(count)]
        hits = [i for i, u in enumerate(uuids) if u.lower().startswith(entry.lower())]
        return hits[0] if len(hits) == 1 else None
    if entry.upper().startswith("MIG-"):
        log.warning("GPU energy not measured for MIG slice %s: NVML counts whole GPUs", entry)
    return None


def nvml_indices_for_visible_devices() -> list[int]:
    """NVML indices of the GPUs in CUDA_VISIBLE_DEVICES (ints or GPU UUIDs), in CUDA order."""
    nvml = _nvml()
    if nvml is None:
        return []
    try:
        count = nvml.nvmlDeviceGetCount()
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        if visible is None:
            return list(range(count))
        entries = (_visible_entry_to_index(nvml, e.strip(), count) for e in visible.split(","))
        return list(itertools.takewhile(lambda index: index is not None, entries))
    except nvml.NVMLError as err:
        log.warning("NVML could not list GPUs: %s", err)
        return []


def nvml_index_for_cuda_device(ordinal: int) -> int | None:
    """NVML index of the GPU that CUDA calls ``ordinal`` in this process, matched by UUID (CUDA's order
    and CUDA_VISIBLE_DEVICES integers need not follow NVML's); None without CUDA or NVML."""
    nvml = _nvml()
    if nvml is None or not torch.cuda.is_available():
        return None
    uuid = f"GPU-{torch.cuda.get_device_properties(ordinal).uuid}".lower()
    try:
        count = nvml.nvmlDeviceGetCount()
        uuids = [nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetHandleByIndex(i)).lower() for i in range(count)]
    except nvml.NVMLError as err:
        log.warning("NVML could not list GPUs: %s", err)
        return None
    return uuids.index(uuid) if uuid in uuids else None


def meters_for_worker(
    *, local_rank: int, use_gpu: bool, cpu_watts_per_core: float, gpu_index: int | None = None
) -> list[EnergyMeter]:
    """Meters this worker owns: its GPU's; the node's RAPL counter on local rank 0 only (never doubled),
    or without RAPL the estimate of this worker's own process tree (on every rank: each its own share).

    ``gpu_index``: CUDA ordinal of the worker's GPU; default the only visible one, else local_rank.
    """
    meters: list[EnergyMeter] = []
    if use_gpu:
        indices = nvml_indices_for_visible_devices()
        ordinal = gpu_index if gpu_index is not None else (0 if len(indices) == 1 else local_rank)
        if gpu_index is not None and indices and not 0 <= gpu_index < len(indices):
            raise ValueError(f"gpu_index {gpu_index} is not one of the {len(indices)} visible GPUs")
        by_uuid = nvml_index_for_cuda_device(ordinal)
        if by_uuid is not None:
            meters.append(NvmlGpuMeter(by_uuid))
        elif 0 <= ordinal < len(indices):
            meters.append(NvmlGpuMeter(indices[ordinal]))
        else:
            log.warning("no GPU in NVML for local rank %d: GPU energy is not measured", local_rank)
    if rapl_readable():
        if local_rank == 0:
            meters.append(RaplNodeMeter())
    else:
        meters.append(EstimatedProcessMeter(cpu_watts_per_core))
    return meters
