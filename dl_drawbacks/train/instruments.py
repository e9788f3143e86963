"""Measurement around one worker's training: step times, FLOPs, MFU, peak memory and energy.

Rows are written by the chief (global figures) or by each rank (per-worker figures, ``rank``
column set). Energy comes from the meters this worker owns: its GPU's, and the node's only on
local rank 0, so two workers on one node never double the node's energy.
"""

from __future__ import annotations

import statistics
import time

import torch

from ..measure.energy import meters_for_worker
from ..measure.memory import PeakMemory
from ..measure.peaks import device_peak_flops
from .context import TrialContext


class Instruments:
    def __init__(self, ctx: TrialContext, *, t_trial_start: float, train_flops_per_sample: float, samples_per_step: int, tokens_per_sample: int) -> None:
        self.ctx = ctx
        self.t_trial_start = t_trial_start
        self.flops_per_step = train_flops_per_sample * samples_per_step
        self.samples_per_step = samples_per_step
        self.tokens_per_sample = tokens_per_sample
        self.step_times: list[float] = []
        self._meters = meters_for_worker(
            local_rank=ctx.local_rank, use_gpu=ctx.trial.trainer.use_gpu,
            cpu_watts_per_core=ctx.trial.measure.cpu_watts_per_core,
        )
        self._memory = PeakMemory(ctx.device)
        self._t_step = 0.0

    def _sync(self) -> None:
        if self.ctx.device.type == "cuda":
            torch.cuda.synchronize(self.ctx.device)

    def start_training(self) -> None:
        self._memory.__enter__()
        for meter in self._meters:
            meter.start()
        self.t_train_start = time.perf_counter()

    def step_begins(self) -> None:
        self._t_step = time.perf_counter()

    def step_ends(self, step: int) -> None:
        self._sync()
        now = time.perf_counter()
        if not self.step_times:
            self.t_first_step_end = now
        self.step_times.append(now - self._t_step)
        if self.ctx.is_chief:
            self.ctx.rows.add("step_time", now - self._t_step, "s", split="train", step=step)

    def stop_training(self, *, steps_done: int) -> None:
        self._sync()
        train_seconds = time.perf_counter() - self.t_train_start
        self._memory.__exit__(None, None, None)
        self._record_energy(train_seconds)
        self._record_memory()
        if self.ctx.is_chief:
            self._record_throughput(train_seconds, steps_done)

    def _record_energy(self, seconds: float) -> None:
        rows = self.ctx.rows
        for meter in self._meters:
            joules = meter.stop()
            rows.add("energy", joules, "J", group=meter.device, provenance=meter.provenance)
            rows.add("power", joules / seconds if seconds > 0 else float("nan"), "W", group=meter.device, provenance=meter.provenance)
        rows.add("device_seconds", seconds, "s", group="gpu" if self.ctx.device.type == "cuda" else f"cpu:{torch.get_num_threads()}")

    def _record_memory(self) -> None:
        m = self._memory
        self.ctx.rows.add("peak_memory", m.peak_bytes, "bytes", provenance=m.provenance)
        self.ctx.rows.add("peak_memory_increase", m.peak_bytes - m.baseline_bytes, "bytes", provenance=m.provenance)

    def _record_throughput(self, train_seconds: float, steps_done: int) -> None:
        rows, ctx = self.ctx.rows, self.ctx
        warm = ctx.trial.trainer.budget.warmup_steps
        steady = self.step_times[warm:] if len(self.step_times) > warm else self.step_times
        step_s = statistics.median(steady)
        precision = ctx.trial.trainer.deepspeed.precision
        peak, peak_source = device_peak_flops(ctx.device, precision, threads=torch.get_num_threads())
        achieved = self.flops_per_step / step_s
        rows.add("train_time", train_seconds, "s")
        rows.add("time_to_first_step", self.t_first_step_end - self.t_trial_start, "s")
        rows.add("step_time_median", step_s, "s", provenance="measured:steady_state")
        rows.add("samples_per_second", self.samples_per_step / step_s, "samples/s", provenance="measured:steady_state")
        if self.tokens_per_sample > 1:
            rows.add("tokens_per_second", self.samples_per_step * self.tokens_per_sample / step_s, "tokens/s", provenance="measured:steady_state")
        rows.add("samples_total", self.samples_per_step * steps_done, "samples")
        rows.add("flops_per_step", self.flops_per_step, "FLOP", provenance="analytic")
        rows.add("achieved_flops", achieved, "FLOP/s")
        rows.add("peak_flops_per_worker", peak, "FLOP/s", provenance=peak_source)
        rows.add("mfu", achieved / (peak * ctx.world_size), "fraction", provenance=f"analytic/{peak_source}")
