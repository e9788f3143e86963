import time

import pytest
import torch

from dl_drawbacks.measure.memory import PeakMemory


def test_cpu_peak_sees_an_allocation_freed_before_exit():
    with PeakMemory(torch.device("cpu"), interval_s=0.01) as mem:
        block = torch.ones(50_000_000)  # 200 MB, pages touched
        time.sleep(0.1)
        del block  # returned to the OS: RSS at exit alone would miss it
        time.sleep(0.05)
    assert mem.provenance == "rss_sampled"
    assert mem.baseline_bytes > 0
    assert mem.peak_bytes - mem.baseline_bytes > 150e6


def test_cpu_peak_stays_near_baseline_without_allocation():
    with PeakMemory(torch.device("cpu")) as mem:
        time.sleep(0.05)
    assert 0 <= mem.peak_bytes - mem.baseline_bytes < 50e6


def test_unknown_device_is_refused():
    with pytest.raises(ValueError, match="cpu or cuda"):
        PeakMemory(torch.device("meta"))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_peak_from_allocator():
    with PeakMemory(torch.device("cuda")) as mem:
        block = torch.ones(50_000_000, device="cuda")
        del block
    assert mem.provenance == "cuda_allocator"
    assert mem.peak_bytes - mem.baseline_bytes >= 200e6
