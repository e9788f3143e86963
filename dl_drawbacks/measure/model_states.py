"""Expected model-state memory per worker under ZeRO (Rajbhandari et al. 2020, §3.1 and §5.1, Figure 1).

Model states are parameters, gradients and optimizer states. With Ψ parameters in mixed precision and Adam the
paper counts 2Ψ + 2Ψ + KΨ bytes (16-bit parameters and gradients, K = 12: fp32 master weights, momentum and
variance). ZeRO partitions them over N data-parallel workers: stage 1 the optimizer states (2Ψ + 2Ψ + KΨ/N),
stage 2 also the gradients (2Ψ + (2 + K)Ψ/N), stage 3 also the parameters ((4 + K)Ψ/N). In fp32 the parameters
and gradients take 4 bytes each and there is no master copy (Adam: K = 8); SGD with momentum keeps one state.
Activations, buffers, communication buckets and the allocator's reserve are not model states: the measured peak
holds them too, so the formula is what a stage can save at most, not what the RSS will show. DeepSpeed's ZeRO
optimizers also keep an fp32 copy of each partition when the model itself is fp32 (4Ψ/N more at stages 1-3 than
the paper's fp32 count): the expected saving of an fp32 run is an upper bound by that much.
"""

from __future__ import annotations

WEIGHT_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}


def optimizer_bytes_per_parameter(optimizer: str, precision: str, *, momentum: float = 0.0) -> int:
    """K of the paper: optimizer-state bytes per parameter (fp32 states, plus an fp32 master copy in 16-bit)."""
    states = {"adamw": 2, "sgd": 1 if momentum > 0 else 0}[optimizer]
    master = 1 if WEIGHT_BYTES[precision] < 4 else 0
    return 4 * (states + master)


def model_state_bytes(parameters: int, *, precision: str, optimizer: str, zero_stage: int, workers: int,
                      momentum: float = 0.0) -> float:
    """Bytes of parameters + gradients + optimizer states one worker holds at ``zero_stage`` over ``workers``."""
    p = g = WEIGHT_BYTES[precision] * parameters
    k = optimizer_bytes_per_parameter(optimizer, precision, momentum=momentum) * parameters
    n = workers
    return {0: p + g + k, 1: p + g + k / n, 2: p + (g + k) / n, 3: (p + g + k) / n}[zero_stage]
