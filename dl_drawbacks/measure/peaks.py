"""Stated peak FLOP/s of a device, the fixed denominator of model FLOPs utilisation (MFU, PaLM appendix B), and
a matmul calibration measured in-process, recorded beside it (a calibration moves with the host's load, so
dividing by it makes MFU a property of the neighbours: the quickstart once printed MFU 1.03)."""

from __future__ import annotations

import re
import time

import torch

# Dense (no 2:4 sparsity) peak TFLOP/s per GPU and dtype: half the "with sparsity" tensor figure.
# Sources, NVIDIA datasheets: A100 (nvidia-a100-datasheet-us-nvidia-1758950-r4), H100/H100 NVL
# (h100-datasheet-2430615), H200 (h200-datasheet-3002446), GH200 (grace-hopper-superchip),
# L4 (l4-datasheet), L40 / L40S (l40s-datasheet-28413), A10 (a10-datasheet), A10G (AWS
# NVIDIA_AWS_A10G_DataSheet_FINAL_02_17_2022), V100 (tesla-volta-v100-datasheet-letter-fnl),
# T4 (t4-tensor-core-datasheet-951643), B200 (HGX B200 per GPU; no FP32 figure published).
# A dtype a GPU lacks in hardware (bf16 before Ampere) is absent: gpu_peak_flops gives None.
GPU_PEAK_TFLOPS: dict[str, dict[str, float]] = {
    "B200": {"tf32": 1100.0, "bf16": 2250.0, "fp16": 2250.0},
    "H200-NVL": {"fp32": 60.0, "tf32": 417.5, "bf16": 835.5, "fp16": 835.5},
    "H200": {"fp32": 67.0, "tf32": 494.5, "bf16": 989.0, "fp16": 989.0},
    "GH200": {"fp32": 67.0, "tf32": 494.5, "bf16": 989.0, "fp16": 989.0},
    "H100-NVL": {"fp32": 60.0, "tf32": 417.5, "bf16": 835.5, "fp16": 835.5},
    "H100-PCIe": {"fp32": 51.0, "tf32": 378.0, "bf16": 756.0, "fp16": 756.0},
    "H100-SXM": {"fp32": 67.0, "tf32": 494.5, "bf16": 989.0, "fp16": 989.0},
    "A100-PCIe": {"fp32": 19.5, "tf32": 156.0, "bf16": 312.0, "fp16": 312.0},
    "A100-SXM": {"fp32": 19.5, "tf32": 156.0, "bf16": 312.0, "fp16": 312.0},
    "L40S": {"fp32": 91.6, "tf32": 183.0, "bf16": 362.05, "fp16": 362.05},
    "L40": {"fp32": 90.5, "tf32": 90.5, "bf16": 181.0, "fp16": 181.0},
    "L4": {"fp32": 30.3, "tf32": 60.0, "bf16": 121.0, "fp16": 121.0},
    "A10G": {"fp32": 35.0, "tf32": 35.0, "bf16": 70.0, "fp16": 70.0},
    "A10": {"fp32": 31.2, "tf32": 62.5, "bf16": 125.0, "fp16": 125.0},
    "V100-PCIe": {"fp32": 14.0, "fp16": 112.0},
    "V100-SXM": {"fp32": 15.7, "fp16": 125.0},
    "T4": {"fp32": 8.1, "fp16": 65.0},
}

# Word-bounded patterns over the upper-cased device name with '-'/'_' as spaces, most specific
# first, so "A10" never matches "NVIDIA A100-SXM4-80GB" and "L4" never matches "NVIDIA L40S".
_NAME_PATTERNS: list[tuple[str, str]] = [
    ("B200", r"\bB200\b"),
    ("GH200", r"\bGH200\b"),
    ("H200-NVL", r"\bH200\b.*\bNVL\b"),
    ("H200", r"\bH200\b"),
    ("H100-NVL", r"\bH100\b.*\bNVL\b"),
    ("H100-PCIe", r"\bH100\b.*\bPCIE\b"),
    ("H100-SXM", r"\bH100\b"),  # "NVIDIA H100 80GB HBM3" is the SXM part
    ("A100-PCIe", r"\bA100\b.*\bPCIE\b"),
    ("A100-SXM", r"\bA100\b"),
    ("L40S", r"\bL40S\b"),
    ("L40", r"\bL40\b"),
    ("L4", r"\bL4\b"),
    ("A10G", r"\bA10G\b"),
    ("A10", r"\bA10\b"),
    ("V100-PCIe", r"\bV100\b.*\bPCIE\b"),
    ("V100-SXM", r"\bV100\b"),
    ("T4", r"\bT4\b"),
]
_TORCH_DTYPES = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16,
                 "fp16": torch.float16}
_CALIBRATED: dict[tuple[str, str, int], float] = {}


def _check_dtype(dtype: str) -> None:
    if dtype not in _TORCH_DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}: use one of {sorted(_TORCH_DTYPES)}")


def gpu_model_key(device_name: str) -> str | None:
    """Key of GPU_PEAK_TFLOPS matching a torch.cuda.get_device_name() string, or None."""
    name = re.sub(r"[-_]", " ", device_name.upper())
    return next((key for key, pattern in _NAME_PATTERNS if re.search(pattern, name)), None)


def gpu_peak_flops(device_name: str, dtype: str) -> float | None:
    """Dense datasheet peak in FLOP/s, or None for an unknown GPU or a dtype it lacks."""
    _check_dtype(dtype)
    key = gpu_model_key(device_name)
    tflops = GPU_PEAK_TFLOPS.get(key, {}).get(dtype) if key else None
    return None if tflops is None else tflops * 1e12


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _matmul_flops(device: torch.device, dtype: str, n: int, seconds: float) -> float:
    """Best FLOP/s of n x n matmuls (2*n^3 FLOPs each) over at least 3 runs and ``seconds``."""
    a = torch.randn(n, n, device=device).to(_TORCH_DTYPES[dtype])
    b = torch.randn(n, n, device=device).to(_TORCH_DTYPES[dtype])
    torch.matmul(a, b)  # warm-up: thread pool, kernels, allocator
    _sync(device)
    best, runs, deadline = 0.0, 0, time.perf_counter() + seconds
    while runs < 3 or time.perf_counter() < deadline:
        t0 = time.perf_counter()
        torch.matmul(a, b)
        _sync(device)
        best = max(best, 2 * n**3 / (time.perf_counter() - t0))
        runs += 1
    return best


def calibrate_cpu_matmul_flops(
    dtype: str = "fp32", *, threads: int | None = None, seconds: float = 0.25
) -> float:
    """Matmul calibration on this CPU (not a peak): best square matmul under ``threads`` threads, cached
    in-process. It moves with the host's load (a 2.4x spread between trials on a shared host)."""
    _check_dtype(dtype)
    previous = torch.get_num_threads()
    threads = threads or previous
    key = ("cpu", dtype, threads)
    if key not in _CALIBRATED:
        torch.set_num_threads(threads)
        try:  # fp32 gets the larger matrix; bf16/fp16 on CPUs without AMX are much slower
            n = 1024 if _TORCH_DTYPES[dtype] == torch.float32 else 512
            _CALIBRATED[key] = _matmul_flops(torch.device("cpu"), dtype, n, seconds)
        finally:
            torch.set_num_threads(previous)
    return _CALIBRATED[key]


def _calibrate_gpu(device: torch.device, dtype: str) -> float:
    """Matmul calibration of a large matmul on a GPU (not a peak), cached per device."""
    key = (str(device), dtype, 0)
    if key not in _CALIBRATED:
        previous = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = dtype == "tf32"
        try:
            _CALIBRATED[key] = _matmul_flops(device, dtype, 8192, seconds=1.0)
        finally:
            torch.backends.cuda.matmul.allow_tf32 = previous
    return _CALIBRATED[key]


def _cuda(device: torch.device) -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if device.index is None else device


def _check_device(device: torch.device) -> torch.device:
    device = torch.device(device)
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"peak FLOP/s is known for cpu and cuda devices, not {device.type!r}")
    return _cuda(device) if device.type == "cuda" else device


def stated_peak_flops(device: torch.device, dtype: str) -> tuple[float | None, str]:
    """(FLOP/s, "table:<key>") of a GPU in ``GPU_PEAK_TFLOPS``; (None, why) for any other device, whose MFU is
    then not reported: a CPU has no stated dense peak here, and a measured matmul is a calibration, not a peak."""
    _check_dtype(dtype)
    device = _check_device(device)
    if device.type == "cpu":
        return None, "no stated peak for CPUs"
    name = torch.cuda.get_device_name(device)
    peak = gpu_peak_flops(name, dtype)
    return (peak, f"table:{gpu_model_key(name)}") if peak is not None else (None, f"no stated {dtype} peak for {name}")


def matmul_calibration_flops(device: torch.device, dtype: str, *, threads: int | None = None) -> float:
    """FLOP/s of a large matmul measured in this process: recorded beside MFU with the host load, never its peak."""
    _check_dtype(dtype)
    device = _check_device(device)
    if device.type == "cpu":
        return calibrate_cpu_matmul_flops(dtype, threads=threads)
    return _calibrate_gpu(device, dtype)
