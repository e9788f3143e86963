"""Peak memory of a block of code: sampled process RSS on CPU, the CUDA allocator's peak on GPU."""

from __future__ import annotations

import threading

import psutil
import torch


class PeakMemory:
    """Context manager recording ``baseline_bytes`` at entry and ``peak_bytes`` up to exit.

    CPU: a daemon thread samples this process's RSS every ``interval_s`` (a spike shorter than
    the interval can be missed). CUDA: ``torch.cuda.max_memory_allocated`` after a reset at entry
    (tensors only; the caching allocator's reserve and the CUDA context are not counted).
    """

    def __init__(self, device: torch.device, interval_s: float = 0.02):
        self.device = torch.device(device)
        if self.device.type not in ("cpu", "cuda"):
            raise ValueError(f"peak memory is measured on cpu or cuda, not {self.device.type!r}")
        self.interval_s = interval_s
        self.provenance = "cuda_allocator" if self.device.type == "cuda" else "rss_sampled"
        self.baseline_bytes = 0
        self.peak_bytes = 0
        self._process = psutil.Process()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)

    def _poll(self) -> None:
        while not self._done.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self.baseline_bytes = torch.cuda.memory_allocated(self.device)
            self.peak_bytes = self.baseline_bytes
            return self
        self.baseline_bytes = self.peak_bytes = self._process.memory_info().rss
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="peak-rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            self.peak_bytes = max(self.baseline_bytes, torch.cuda.max_memory_allocated(self.device))
            return
        self._done.set()
        assert self._thread is not None
        self._thread.join()
        self._sample()
