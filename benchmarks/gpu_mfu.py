"""Throughput, MFU, energy, host syncs and peak memory of the compute study's transformer on one GPU, four ways
side by side in one run: plain eager, plain ``torch.compile`` (model and loss compiled as one function), the
framework's DeepSpeed ZeRO-2 worker called without Ray (``run_worker``, engine.compile()), and the same trial
through ``dl-drawbacks run`` (Ray Tune trial -> Ray Train TorchTrainer, 1 GPU worker). The in-process paths are
interleaved (eager, compile, DeepSpeed, eager, ...) and each figure is the median over repeats; the Ray path
runs ``--run-repeats`` times after them (each start costs a Ray cluster). One JSON line per path and repeat,
then one ``"summary"`` line per path.

Every path is timed the same way (issue 28): the same data source (the spec's ``text_bytes`` split, batched by
the framework's own ``micro_batches``), the same steps (the ``WARMUP`` first dropped), and the same clock: a CUDA
event at each step's start (no host sync to take one; the framework's ``Instruments`` records the same events),
each path's figure the mean step period over the steady steps (the framework's every-10th-step loss read counts
in full). MFU divides by the GPU's stated dense peak (``measure.peaks``); without one it is not reported.

    python benchmarks/gpu_mfu.py OUT.jsonl [--steps 60] [--size gpt2-small] [--batch 16] [--seq 1024]
        [--repeats 3] [--run-repeats 1] [--device cuda|cpu] [--paths eager,compile,deepspeed,run]

Anchor (issue 13): GPT-2 small, B=16, T=1024, bf16 on one H200; target: the Ray Train DeepSpeed path at
>= 0.9x plain torch.compile tokens/s, MFU >= 40%, <= 1,450 J per million tokens. ``--device cpu`` runs a
tiny shape end to end (fp32, energy an estimate) to check the script where no GPU is lent; its figures are
no GPU figures. Energy is counted over the steady-state steps only (after ``WARMUP`` steps); idle power is
measured before the first path and reported apart.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import polars as pl
import torch
import yaml

from dl_drawbacks.measure.energy import EstimatedProcessMeter, NvmlGpuMeter, nvml_index_for_cuda_device
from dl_drawbacks.data import load_dataset
from dl_drawbacks.measure.peaks import stated_peak_flops
from dl_drawbacks.models import DataShape, resolve_params
from dl_drawbacks.models.gpt import GPT, gpt_train_flops_per_sample
from dl_drawbacks.train.batches import micro_batches
from dl_drawbacks.train.context import Split
from dl_drawbacks.train.evaluate import classification_loss
from dl_drawbacks.train.instruments import _Clock

WARMUP = 10


def spec_doc(a: argparse.Namespace) -> dict:
    gpu = a.device == "cuda"
    return {"name": "gpu-mfu", "version": 1, "tracking": {"mode": "disabled"}, "studies": [{
        "kind": "compute", "data": {"name": "text_bytes", "options": {"seq_len": a.seq}},
        "model": {"family": "gpt", "size": a.size},
        "trainer": {"use_gpu": gpu, "engine": "deepspeed", "cpus_per_worker": 4 if gpu else 1,
                    "optimizer": {"lr": 6e-4, "weight_decay": 0.1},
                    "precision": a.precision, "micro_batch": a.batch, "compile": gpu, "deepspeed": {"zero_stage": 2},
                    "budget": {"steps": a.steps, "eval_every": a.steps, "warmup_steps": WARMUP}}}]}


def _meter(device: torch.device):
    if device.type == "cuda":
        return NvmlGpuMeter(nvml_index_for_cuda_device(device.index or 0))
    return EstimatedProcessMeter(10.0)


class _SyncCounter(warnings.catch_warnings):
    """Counts host syncs: CUDA's sync debug mode warns once per synchronising call."""

    def __init__(self, device: torch.device) -> None:
        super().__init__(record=True)
        self.cuda = device.type == "cuda"

    def __enter__(self):
        self.log = super().__enter__()
        warnings.simplefilter("always")
        if self.cuda:
            torch.cuda.set_sync_debug_mode("warn")
        return self

    def __exit__(self, *exc):
        if self.cuda:
            torch.cuda.set_sync_debug_mode("default")
        super().__exit__(*exc)

    @property
    def syncs(self) -> int | None:
        return sum("synchroniz" in str(w.message).lower() for w in self.log) if self.cuda else None


def same_batches(a: argparse.Namespace, device: torch.device):
    """The framework trial's training batches: its data set and options, its batching, its seed (0)."""
    ds = load_dataset("text_bytes", {"seq_len": a.seq})
    return micro_batches(Split(ds.x_train, ds.y_train), micro_batch=a.batch, rank=0, world_size=1, seed=0,
                         device=device)


def plain(a: argparse.Namespace, *, compiled: bool) -> dict:
    """A bare loop as a performance engineer writes it: data resident, fused AdamW, loss read once at the end."""
    device = torch.device(a.device)
    shape = DataShape("tokens", a.seq, 256, seq_len=a.seq)
    p = resolve_params("gpt", a.size, {})
    model = GPT(p, shape).to(device)
    fused = {"fused": True} if device.type == "cuda" else {}
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4, weight_decay=0.1, **fused)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=a.precision == "bf16")

    def loss_of(x, y):
        with autocast:
            return classification_loss(model(x), y)

    step_loss = torch.compile(loss_of) if compiled else loss_of
    batches = same_batches(a, device)
    clock, meter = _Clock(device), _meter(device)

    def train_step() -> torch.Tensor:
        x, y, _ = next(batches)
        loss = step_loss(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    for _ in range(WARMUP):
        train_step()
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    meter.start()
    marks = []
    with _SyncCounter(device) as counter:
        for _ in range(a.steps - WARMUP):
            marks.append(clock.mark())
            loss = train_step()
        marks.append(clock.mark())
    clock.wait(marks[-1])
    joules = meter.stop()
    loss.item()
    periods = [clock.seconds(b, e) for b, e in zip(marks[:-1], marks[1:])]
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return _figures("plain torch.compile (loss compiled)" if compiled else "plain eager", a,
                    statistics.fmean(periods), joules, len(periods), syncs=counter.syncs, peak_bytes=peak,
                    energy=meter.provenance)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _figures(path: str, a: argparse.Namespace, step_s: float, joules: float, steps: int, **extra) -> dict:
    tokens = a.batch * a.seq
    p = resolve_params("gpt", a.size, {})
    flops = gpt_train_flops_per_sample(p, DataShape("tokens", a.seq, 256, seq_len=a.seq)) * a.batch
    peak, source = stated_peak_flops(torch.device(a.device), a.precision)
    syncs = extra.pop("syncs", None)
    return {"path": path, "step_s_mean": step_s, "tokens_per_s": tokens / step_s,
            "mfu": flops / step_s / peak if peak else None, "peak_source": source,
            "j_per_million_tokens": joules / (tokens * steps) * 1e6,
            "syncs_per_step": None if syncs is None else syncs / steps, **extra}


def _from_rows(path: str, rows: pl.DataFrame, a: argparse.Namespace, **extra) -> dict:
    """The framework's figures from its rows, computed exactly as the plain paths': the mean of the per-step
    CUDA-event periods after ``WARMUP``, and the energy of its steady-state window."""
    periods = rows.filter((pl.col("metric") == "step_time") & (pl.col("step") > WARMUP))["value"].to_list()
    chief = rows.filter(pl.col("step").is_null() & (pl.col("rank") == 0))
    get = dict(zip(chief["metric"], chief["value"]))
    steady = rows.filter(pl.col("metric") == "energy_steady")
    memory = rows.filter(pl.col("metric") == "peak_memory")["value"].max()
    joules = float(steady["value"].sum()) * len(periods) / (get["samples_steady"] / a.batch)  # per timed step
    return _figures(path, a, statistics.fmean(periods), joules, len(periods), peak_bytes=memory,
                    energy=",".join(sorted(set(steady["provenance"]))), **extra)


def deepspeed_worker(a: argparse.Namespace) -> dict:
    """The framework's worker on this process (a one-rank process group, no Ray): DeepSpeed ZeRO-2."""
    from dl_drawbacks.plan import plan
    from dl_drawbacks.rows import frame_from_records
    from dl_drawbacks.spec import parse_spec
    from dl_drawbacks.train.worker import run_worker

    (trial,) = plan(parse_spec(spec_doc(a)))
    with _SyncCounter(torch.device(a.device)) as counter:
        rows = frame_from_records([run_worker(trial, "bench")])
    syncs = counter.syncs
    return _from_rows("framework DeepSpeed ZeRO-2 worker (no Ray)", rows, a,
                      syncs_per_trial_step=None if syncs is None else syncs / a.steps,
                      syncs_note="whole trial incl. set-up and evaluation, divided by steps")


def framework_run(a: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "gpu.yaml"
        spec.write_text(yaml.safe_dump(spec_doc(a)))
        subprocess.run([sys.executable, "-m", "dl_drawbacks.cli", "run", str(spec), "--out", f"{tmp}/run"], check=True)
        rows = pl.read_parquet(next(Path(tmp, "run", "trials").glob("*/rows.parquet")))
    return _from_rows("dl-drawbacks run (Ray Train, DeepSpeed ZeRO-2)", rows, a, syncs_per_step=None,
                      syncs_note="not counted in another process")


def _pct(mfu: float | None) -> str:
    return "not reported (no stated peak)" if mfu is None else f"{mfu:.1%}"


def _summary(results: list[dict]) -> list[dict]:
    out = []
    for path in dict.fromkeys(r["path"] for r in results):
        mine = [r for r in results if r["path"] == path]
        out.append({"summary": True, "path": path, "repeats": len(mine),
                    **{k: statistics.median(r[k] for r in mine) if all(r[k] is not None for r in mine) else None
                       for k in ("tokens_per_s", "mfu", "j_per_million_tokens")}})
    anchor = next((s for s in out if s["path"].startswith("plain torch.compile")), None)
    for s in out:
        s["relative_to_compile"] = s["tokens_per_s"] / anchor["tokens_per_s"] if anchor else None
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--size", default="gpt2-small")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--run-repeats", type=int, default=1)
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--paths", default="eager,compile,deepspeed,run", help="comma-separated subset to run")
    a = ap.parse_args()
    a.precision = "bf16" if a.device == "cuda" else "fp32"
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_mfu: no CUDA device here; run it on a GPU node (or --device cpu for a smoke check)")
    device = torch.device(a.device, 0) if a.device == "cuda" else torch.device("cpu")
    meta = {**{k: getattr(a, k) for k in ("size", "batch", "seq", "steps", "precision")},
            "device": torch.cuda.get_device_name(0) if a.device == "cuda" else "cpu",
            "idle_watts": _meter(device).idle_watts() if a.device == "cuda" else None}
    results = []
    with open(a.out, "a") as out:
        chosen = a.paths.split(",")
        paths = {"eager": lambda: plain(a, compiled=False), "compile": lambda: plain(a, compiled=True),
                 "deepspeed": lambda: deepspeed_worker(a)}
        runs = [fn for name, fn in paths.items() if name in chosen]
        schedule = [(r, fn) for r in range(a.repeats) for fn in runs]
        schedule += [(r, lambda: framework_run(a)) for r in range(a.run_repeats if "run" in chosen else 0)]
        for repeat, fn in schedule:
            result = {**fn(), **meta, "repeat": repeat}
            results.append(result)
            out.write(json.dumps(result) + "\n")
            out.flush()
            print(f"{result['path']:<48} {result['tokens_per_s']:>10,.0f} tokens/s  MFU {_pct(result['mfu'])}  "
                  f"{result['j_per_million_tokens']:,.0f} J/Mtok  (repeat {repeat})", flush=True)
        for s in _summary(results):
            out.write(json.dumps({**s, **meta}) + "\n")
            print(f"median {s['path']:<41} {s['tokens_per_s']:>10,.0f} tokens/s  MFU {_pct(s['mfu'])}  "
                  f"{s['j_per_million_tokens']:,.0f} J/Mtok" + (f"  x{s['relative_to_compile']:.2f} of compile"
                                                                if s["relative_to_compile"] else ""))


if __name__ == "__main__":
    main()
