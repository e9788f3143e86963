import time

import pytest
import torch

from dl_drawbacks.measure.peaks import (
    GPU_PEAK_TFLOPS,
    calibrate_cpu_matmul_flops,
    gpu_model_key,
    gpu_peak_flops,
    matmul_calibration_flops,
    stated_peak_flops,
)


def test_h200_bf16_dense_peak():
    assert gpu_peak_flops("NVIDIA H200", "bf16") == 989e12
    assert gpu_peak_flops("NVIDIA H100 80GB HBM3", "bf16") == 989e12


@pytest.mark.parametrize(
    ("name", "key"),
    [("NVIDIA A100-SXM4-80GB", "A100-SXM"), ("NVIDIA A100-PCIE-40GB", "A100-PCIe"),
     ("NVIDIA A100 80GB PCIe", "A100-PCIe"), ("NVIDIA H100 PCIe", "H100-PCIe"),
     ("NVIDIA H100 NVL", "H100-NVL"), ("NVIDIA H200 NVL", "H200-NVL"), ("NVIDIA L4", "L4"),
     ("NVIDIA L40S", "L40S"), ("NVIDIA A10G", "A10G"), ("NVIDIA A10", "A10"),
     ("Tesla V100-SXM2-16GB", "V100-SXM"), ("Tesla V100-PCIE-32GB", "V100-PCIe"),
     ("Tesla T4", "T4"), ("NVIDIA B200", "B200"), ("NVIDIA GH200 480GB", "GH200")],
)
def test_device_names_match_the_right_model(name, key):
    assert gpu_model_key(name) == key


def test_unknown_gpu_or_missing_dtype_gives_none():
    assert gpu_peak_flops("NVIDIA GeForce GTX 1080", "fp32") is None
    assert gpu_peak_flops("Tesla T4", "bf16") is None  # no bf16 tensor cores on Turing
    with pytest.raises(ValueError, match="unknown dtype"):
        gpu_peak_flops("NVIDIA H200", "fp8")


def test_table_is_dense_and_ordered_by_precision():
    for key, peaks in GPU_PEAK_TFLOPS.items():
        assert peaks.get("fp32", 0) <= peaks.get("tf32", peaks.get("fp32", 0)), key
        assert peaks.get("fp16", 0) >= peaks.get("fp32", 0), key
    assert set(GPU_PEAK_TFLOPS) >= {"A100-SXM", "A100-PCIe", "H100-SXM", "H100-PCIe", "H200",
                                    "L4", "A10G", "V100-SXM", "T4", "L40S", "B200"}


def test_cpu_calibration_is_plausible_cached_and_restores_threads():
    before = torch.get_num_threads()
    flops = calibrate_cpu_matmul_flops("fp32", threads=1, seconds=0.1)
    assert torch.get_num_threads() == before
    assert 1e8 < flops < 1e13
    t0 = time.perf_counter()
    assert calibrate_cpu_matmul_flops("fp32", threads=1, seconds=0.1) == flops
    assert time.perf_counter() - t0 < 0.01
    assert matmul_calibration_flops(torch.device("cpu"), "fp32", threads=1) == flops


def test_a_cpu_has_no_stated_peak_so_no_mfu_and_the_calibration_is_never_one():
    assert stated_peak_flops(torch.device("cpu"), "fp32") == (None, "no stated peak for CPUs")


def test_device_peak_refuses_unknown_device():
    with pytest.raises(ValueError, match="cpu and cuda"):
        stated_peak_flops(torch.device("meta"), "fp32")
    with pytest.raises(ValueError, match="cpu and cuda"):
        matmul_calibration_flops(torch.device("meta"), "fp32")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_peak_from_the_table_and_a_calibration_below_it():
    flops, provenance = stated_peak_flops(torch.device("cuda"), "bf16")
    calibration = matmul_calibration_flops(torch.device("cuda"), "bf16")
    assert provenance.startswith("table:") and flops > 1e12
    assert 0 < calibration < 1.2 * flops
