"""Measurement around one worker's training: step times, FLOPs, MFU, peak memory and energy.

Step time is the period from one step's start to the next one's (the loop's between-step work is inside
it), taken with CUDA events on a GPU so that timing adds no host sync; the periods are read when the
loop flushes (every few steps). A step followed by an evaluation ends where the evaluation starts.
Energy and wall time are split into windows: warm-up (the first ``warmup_steps`` steps, where
compilation happens), steady state, and evaluation. Rows are written by the chief (global figures) or
by each rank (per-worker figures, ``rank`` column set); each meter is read by the worker that owns it.
Every rank records its host's load (load average per CPU at the start and end of training, CPU steal during it):
timings taken on a loaded host are flagged by the analysis, not hidden. MFU divides by the device's stated peak
(``measure.peaks``) and is not reported without one; the in-process matmul calibration is recorded beside it.
"""

from __future__ import annotations

import statistics
import time

import torch

from ..measure import host_load
from ..measure.energy import meters_for_worker
from ..measure.memory import PeakMemory
from ..measure.model_states import model_state_bytes
from ..measure.peaks import matmul_calibration_flops, stated_peak_flops
from .context import TrialContext

WINDOWS = ("warmup", "steady", "eval")


class _Clock:
    """Markers on the host clock (CPU) or CUDA events in the stream (GPU, no sync to take one)."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"

    def mark(self):
        if not self.cuda:
            return time.perf_counter()
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def seconds(self, begin, end) -> float:
        return begin.elapsed_time(end) / 1e3 if self.cuda else end - begin

    def wait(self, marker) -> None:
        if self.cuda:
            marker.synchronize()


class Instruments:
    def __init__(self, ctx: TrialContext, *, t_trial_start: float, train_flops_per_sample: float, samples_per_step: int,
                 tokens_per_sample: int, flops_provenance: str = "analytic") -> None:
        self.ctx = ctx
        self.flops_provenance = flops_provenance  # analytic, or counted where the family has no formula
        self.t_trial_start = t_trial_start
        self.flops_per_step = train_flops_per_sample * samples_per_step
        self.samples_per_step = samples_per_step
        self.tokens_per_sample = tokens_per_sample
        self.warmup_steps = ctx.trial.trainer.budget.warmup_steps
        self.step_times: list[tuple[int, float]] = []  # (step, seconds), resolved
        self._pending: list[list] = []  # [step, begin marker, end marker or None]
        self._clock = _Clock(ctx.device)
        self._meters = meters_for_worker(
            local_rank=ctx.local_rank, use_gpu=ctx.trial.trainer.use_gpu, gpu_index=ctx.device.index,
            cpu_watts_per_core=ctx.trial.measure.cpu_watts_per_core,
        )
        self._memory = PeakMemory(ctx.device)
        self._window, self._resume_to = "warmup", "warmup"
        self._window_start = 0.0
        self._joules = {w: [0.0] * len(self._meters) for w in WINDOWS}
        self._seconds = dict.fromkeys(WINDOWS, 0.0)
        self._last_reading = [0.0] * len(self._meters)
        self.steady_steps = 0

    def _sync(self) -> None:
        if self.ctx.device.type == "cuda":
            torch.cuda.synchronize(self.ctx.device)

    def _switch(self, window: str) -> None:
        """Charge the energy and time since the last switch to the current window (syncs the device)."""
        self._sync()
        now = time.perf_counter()
        self._seconds[self._window] += now - self._window_start
        for i, meter in enumerate(self._meters):
            reading = meter.read()
            self._joules[self._window][i] += reading - self._last_reading[i]
            self._last_reading[i] = reading
        self._window, self._window_start = window, now

    def start_training(self) -> None:
        self._host_start = host_load.snapshot()
        self._record_idle_power()
        self._record_model_states()
        self._memory.__enter__()
        for meter in self._meters:
            meter.start()
        self.t_train_start = self._window_start = time.perf_counter()
        self._window = self._resume_to = "warmup" if self.warmup_steps else "steady"

    def step_begins(self, step: int) -> None:
        if self._window == "warmup" and step > self.warmup_steps:
            self._switch("steady")
            self._resume_to = "steady"
        if self._window == "steady":
            self.steady_steps += 1
        marker = self._clock.mark()
        if self._pending and self._pending[-1][2] is None:
            self._pending[-1][2] = marker
        self._pending.append([step, marker, None])

    def pause(self) -> None:
        """Before an evaluation: the current step ends here, and time and energy go to the eval window."""
        if self._pending and self._pending[-1][2] is None:
            self._pending[-1][2] = self._clock.mark()
        self._switch("eval")

    def resume(self) -> None:
        self._switch(self._resume_to)

    def flush(self) -> None:
        """Resolve the step periods that have ended and write their rows (one wait on the last marker)."""
        done = [p for p in self._pending if p[2] is not None]
        if not done:
            return
        self._clock.wait(done[-1][2])
        for step, begin, end in done:
            seconds = self._clock.seconds(begin, end)
            self.step_times.append((step, seconds))
            if self.ctx.is_chief:
                self.ctx.rows.add("step_time", seconds, "s", split="train", step=step)
        self._pending = [p for p in self._pending if p[2] is None]

    def stop_training(self, *, steps_done: int) -> None:
        if self._pending and self._pending[-1][2] is None:
            self._pending[-1][2] = self._clock.mark()
        self.flush()
        self._switch(self._window)
        train_seconds = time.perf_counter() - self.t_train_start
        self._record_host_load(host_load.snapshot())
        self._memory.__exit__(None, None, None)
        self._record_energy(train_seconds)
        self._record_memory()
        if self.ctx.is_chief:
            self._record_throughput(train_seconds, steps_done)

    def _record_host_load(self, end: host_load.HostSnapshot) -> None:
        rows = self.ctx.rows
        for when, snap in (("start", self._host_start), ("end", end)):
            if snap.load_per_cpu is not None:
                rows.add("load_per_cpu", snap.load_per_cpu, "1-min load average / online CPUs", group=when,
                         provenance="/proc/loadavg")
        steal = host_load.steal_fraction(self._host_start, end)
        if steal is not None:
            rows.add("cpu_steal", steal, "fraction of CPU time", group="training", provenance="/proc/stat")

    def _record_model_states(self) -> None:
        """Model-state bytes this worker holds by the ZeRO paper's count (parameters under ZeRO-3 by ds_numel)."""
        if not self.ctx.is_chief:
            return
        t = self.ctx.trial.trainer
        n = sum(getattr(p, "ds_numel", p.numel()) for p in self.ctx.model.parameters())
        stage = t.deepspeed.zero_stage if t.resolved_engine == "deepspeed" else 0
        expected = model_state_bytes(n, precision=t.precision, optimizer=t.optimizer.name,
                                     zero_stage=stage, workers=self.ctx.world_size, momentum=t.optimizer.momentum)
        self.ctx.rows.add("model_states_expected", expected, "bytes", group=f"zero{stage}",
                          provenance="formula:Rajbhandari2020")

    def _record_idle_power(self) -> None:
        for meter in self._meters:
            watts = meter.idle_watts()
            if watts is not None:
                self.ctx.rows.add("idle_power", watts, "W", group=meter.device, provenance=meter.provenance)

    def _record_energy(self, seconds: float) -> None:
        rows = self.ctx.rows
        for i, meter in enumerate(self._meters):
            joules = meter.stop()
            rows.add("energy", joules, "J", group=meter.device, provenance=meter.provenance)
            rows.add("power", joules / seconds if seconds > 0 else float("nan"), "W", group=meter.device,
                     provenance=meter.provenance)
            for window in WINDOWS:
                rows.add(f"energy_{window}", self._joules[window][i], "J", group=meter.device,
                         provenance=meter.provenance)
        if self.ctx.is_chief:
            for window in WINDOWS:
                rows.add(f"time_{window}", self._seconds[window], "s", provenance="measured")
            rows.add("samples_steady", self.steady_steps * self.samples_per_step, "samples", provenance="counted")
        device = "gpu" if self.ctx.device.type == "cuda" else f"cpu:{torch.get_num_threads()}"
        rows.add("device_seconds", seconds, "s", group=device)

    def _record_memory(self) -> None:
        m = self._memory
        self.ctx.rows.add("peak_memory", m.peak_bytes, "bytes", provenance=m.provenance)
        self.ctx.rows.add("peak_memory_increase", m.peak_bytes - m.baseline_bytes, "bytes", provenance=m.provenance)

    def _record_throughput(self, train_seconds: float, steps_done: int) -> None:
        rows, ctx = self.ctx.rows, self.ctx
        steady = [s for step, s in self.step_times if step > self.warmup_steps] or [s for _, s in self.step_times]
        step_s = statistics.median(steady)
        precision = ctx.trial.trainer.precision
        peak, peak_source = stated_peak_flops(ctx.device, precision)
        achieved = self.flops_per_step / step_s
        rows.add("train_time", train_seconds, "s")
        rows.add("time_to_first_step", self.t_first_step_end - self.t_trial_start, "s")
        rows.add("step_time_median", step_s, "s", provenance="measured:steady_state")
        rows.add("step_time_mean", statistics.fmean(steady), "s", provenance="measured:steady_state")  # flushes in
        rows.add("samples_per_second", self.samples_per_step / step_s, "samples/s", provenance="measured:steady_state")
        if self.tokens_per_sample > 1:
            rows.add("tokens_per_second", self.samples_per_step * self.tokens_per_sample / step_s, "tokens/s",
                     provenance="measured:steady_state")
        rows.add("samples_total", self.samples_per_step * steps_done, "samples", provenance="counted")
        rows.add("flops_per_step", self.flops_per_step, "FLOP", provenance=self.flops_provenance)
        rows.add("achieved_flops", achieved, "FLOP/s")
        load = self._host_start.load_per_cpu
        rows.add("matmul_calibration_flops", matmul_calibration_flops(ctx.device, precision,
                                                                      threads=torch.get_num_threads()),
                 "FLOP/s", provenance="calibration:matmul" + (f", load/cpu {load:.2f}" if load is not None else ""))
        if peak is None:
            rows.add("mfu_not_reported", 1.0, "bool", group=peak_source, provenance="stated peak table")
            return
        rows.add("peak_flops_per_worker", peak, "FLOP/s", provenance=peak_source)
        rows.add("mfu", achieved / (peak * ctx.world_size), "fraction",
                 provenance=f"{self.flops_provenance}/{peak_source}")

    @property
    def t_first_step_end(self) -> float:
        """Host time when the first step's period ended (read after the fact from the resolved periods)."""
        first = self.step_times[0][1] if self.step_times else 0.0
        return self.t_train_start + first
