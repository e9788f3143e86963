"""GPU throughput, MFU and energy of the compute study's transformer on one GPU, three ways in one
script: a plain `torch.compile` loop, the framework's worker function called without Ray, and the
framework's real path (`dl-drawbacks run`: a Ray Tune trial; a 1-worker trial trains in its Tune trial
process, N-worker trials add Ray Train + DeepSpeed). Writes one JSON line per configuration.

    python benchmarks/gpu_mfu.py OUT.jsonl [--steps 60] [--size gpt2-small] [--batch 16] [--seq 1024]

Anchor shape (GPT-2 small, B=16, T=1024, bf16). Needs CUDA and NVML; refuses to run without a GPU.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from dl_drawbacks.measure.energy import NvmlGpuMeter, nvml_indices_for_visible_devices
from dl_drawbacks.measure.peaks import device_peak_flops
from dl_drawbacks.models import DataShape, resolve_params
from dl_drawbacks.models.gpt import GPT, gpt_train_flops_per_sample


def spec_doc(size: str, batch: int, seq: int, steps: int, compile_: bool) -> dict:
    return {"name": "gpu-mfu", "version": 1, "tracking": {"mode": "disabled"}, "studies": [{
        "kind": "compute", "data": {"name": "text_bytes", "options": {"seq_len": seq}},
        "model": {"family": "gpt", "size": size},
        "trainer": {"use_gpu": True, "cpus_per_worker": 4, "optimizer": {"lr": 6e-4, "weight_decay": 0.1},
                    "deepspeed": {"precision": "bf16", "micro_batch": batch, "compile": compile_},
                    "budget": {"steps": steps, "eval_every": steps, "warmup_steps": 10}}}]}


def plain_compile(size: str, batch: int, seq: int, steps: int) -> dict:
    shape = DataShape("tokens", seq, 256, seq_len=seq)
    p = resolve_params("gpt", size, {})
    model = torch.compile(GPT(p, shape).cuda())
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4, weight_decay=0.1, fused=True)
    x = torch.randint(0, 256, (batch, seq), device="cuda")
    meter = NvmlGpuMeter(nvml_indices_for_visible_devices()[0])
    times = []
    for i in range(steps):
        if i == 10:
            meter.start()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.float().view(-1, logits.shape[-1]), x.view(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    joules = meter.stop()
    step = float(np.median(times[10:]))
    tokens = batch * seq
    peak, source = device_peak_flops(torch.device("cuda", 0), "bf16")
    flops = gpt_train_flops_per_sample(p, shape) * batch
    return {"path": "plain torch.compile", "tokens_per_s": tokens / step, "mfu": flops / step / peak,
            "j_per_million_tokens": joules / (tokens * (steps - 10)) * 1e6, "peak_source": source}


def _from_rows(path: str, rows: dict, batch: int, seq: int) -> dict:
    get = {m: v for m, v, g in zip(rows["metric"], rows["value"], rows["group"]) if not g}
    energy = sum(v for m, v, p in zip(rows["metric"], rows["value"], rows["provenance"]) if m == "energy" and p == "nvml")
    return {"path": path, "tokens_per_s": get["tokens_per_second"], "mfu": get["mfu"],
            "j_per_million_tokens": energy / get["samples_total"] / seq * 1e6}


def worker_without_ray(size: str, batch: int, seq: int, steps: int) -> dict:
    from dl_drawbacks.plan import plan
    from dl_drawbacks.spec import parse_spec
    from dl_drawbacks.train.worker import run_worker

    trial = plan(parse_spec(spec_doc(size, batch, seq, steps, True)))[0]
    return _from_rows("framework worker (no Ray), compile", run_worker(trial.model_dump(mode="json"), "bench"), batch, seq)


def framework_run(size: str, batch: int, seq: int, steps: int) -> dict:
    import polars as pl

    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "gpu.yaml"
        spec.write_text(yaml.safe_dump(spec_doc(size, batch, seq, steps, True)))
        subprocess.run([sys.executable, "-m", "dl_drawbacks.cli", "run", str(spec), "--out", f"{tmp}/run"], check=True)
        rows = pl.read_parquet(next(Path(tmp, "run", "trials").glob("*/rows.parquet"))).to_dict(as_series=False)
    return _from_rows("dl-drawbacks run (Ray Tune trial), compile", rows, batch, seq)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--size", default="gpt2-small")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=1024)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("gpu_mfu: no CUDA device here; run it on a GPU node")
    shape = dict(size=args.size, batch=args.batch, seq=args.seq, steps=args.steps)
    with open(args.out, "a") as out:
        for fn in (plain_compile, worker_without_ray, framework_run):
            result = {**fn(**shape), **shape, "gpu": torch.cuda.get_device_name(0)}
            out.write(json.dumps(result) + "\n")
            print(f"{result['path']:<45} {result['tokens_per_s']:>10,.0f} tokens/s  MFU {result['mfu']:.1%}  "
                  f"{result['j_per_million_tokens']:,.0f} J/Mtok")


if __name__ == "__main__":
    main()
