"""Synthetic compute rows with known answers: the rows a trial writes, for chosen factors and values."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from dl_drawbacks.rows import RowBuffer, frame_from_records

BASE = {"family": "mlp", "size": "s", "dataset": "digits", "n_train": None, "budget_steps": 20, "workers": 1,
        "cpus_per_worker": 1, "use_gpu": False, "engine": "auto", "zero_stage": 0, "precision": "fp32",
        "micro_batch": 64, "grad_accum": 1, "compile": False}


def trial_rows(trial_id: str, seed: int, *, parameters: float, step_time: float, memory: float = 1e6,
               energy_provenance: str = "estimate", ranks: int = 1, load: float = 0.5,
               model_states: float | None = None, **factors: Any) -> dict[str, list]:
    """The scalar rows of one trial: train time = 20 steps x step_time, energy 10 W x time per rank, host load
    ``load`` per CPU at start and end, model states 16 bytes per parameter unless given."""
    f = {**BASE, **factors, "sweep": "synthetic"}
    records = []
    for rank in range(ranks):
        rows = RowBuffer("compute", "run", trial_id, seed, f, rank=rank)
        if rank == 0:
            samples = f["micro_batch"] * f["workers"] * 20
            for metric, value in {"parameters": parameters, "train_time": 20 * step_time, "step_time_median": step_time,
                                  "step_time_mean": step_time, "flops_per_step": 6 * parameters * f["micro_batch"],
                                  "model_states_expected": 16 * parameters if model_states is None else model_states,
                                  "samples_per_second": f["micro_batch"] * f["workers"] / step_time, "mfu": 0.1,
                                  "samples_total": samples, "samples_steady": samples * 0.9,
                                  "device_seconds": 20 * step_time,
                                  "micro_batch_used": f["micro_batch"], "steps": 20}.items():
                rows.add(metric, value, "x")
            rows.add("flops_per_sample", 6 * parameters, "FLOP", provenance="analytic")
            rows.add("flops_per_sample", 6 * parameters * 0.97, "FLOP", provenance="flop_counter:meta")
            rows.add("accuracy", 0.5 + 0.01 * np.log(parameters), "fraction", split="test", step=20)
        rows.add("energy", 10.0 * 20 * step_time, "J", group=f"process:h:{rank}", provenance=energy_provenance)
        rows.add("energy_steady", 9.0 * 20 * step_time, "J", group=f"process:h:{rank}", provenance=energy_provenance)
        rows.add("peak_memory_increase", memory, "bytes", provenance="rss_sampled")
        for when in ("start", "end"):
            rows.add("load_per_cpu", load, "load", group=when, provenance="/proc/loadavg")
        records.append(rows.to_records())
    return {k: sum((r[k] for r in records), []) for k in records[0]}


def frame(trials: list[dict[str, list]]) -> pl.DataFrame:
    return frame_from_records(trials)
