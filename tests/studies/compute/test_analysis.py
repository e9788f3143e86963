"""The compute analysis on synthetic rows with known answers, in both directions, and on degenerate input."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from dl_drawbacks.rows import ROW_SCHEMA
from dl_drawbacks.spec.models import MeasureSpec
from dl_drawbacks.studies.compute.kind import ComputeOptions, ComputeStudy
from dl_drawbacks.headline import as_dicts
from .synthetic import frame, trial_rows

SIZES = {"xs": 2e3, "s": 8e3, "m": 3.2e4, "l": 1.28e5, "xl": 5.12e5}
SEEDS = (0, 1, 2)


def analyze(rows: pl.DataFrame) -> dict:
    return ComputeStudy().analyze(rows, ComputeOptions(), measure=MeasureSpec())


def size_sweep(exponent: float, *, provenance: str = "estimate", noise: float = 0.05) -> list[dict]:
    rng = np.random.default_rng(0)
    return [trial_rows(f"{size}-{seed}", seed, parameters=n, size=size, energy_provenance=provenance,
                       step_time=1e-3 * (n / 2e3) ** exponent * float(np.exp(rng.normal(0, noise))))
            for size, n in SIZES.items() for seed in SEEDS]


@pytest.mark.parametrize("exponent", [0.0, 0.5])
def test_time_exponent_found_when_present_and_zero_when_absent(exponent):
    fit = analyze(frame(size_sweep(exponent)))["scaling_with_parameters"]["mlp"]["time"]
    low, high = fit["interval95"]
    assert fit["exponent"] == pytest.approx(exponent, abs=0.03) and 0 < high - low < 0.1
    assert (low > 0.25) is (exponent > 0)  # a real exponent is told apart from none
    assert fit["n_points"] == len(SIZES) * len(SEEDS)


def test_estimated_energy_is_no_evidence_but_a_counter_is():
    estimate = analyze(frame(size_sweep(0.5)))
    assert estimate["scaling_with_parameters"]["mlp"]["energy"]["available"] is False
    assert "by construction" in estimate["energy_note"]
    measured = analyze(frame(size_sweep(0.5, provenance="nvml")))
    assert measured["scaling_with_parameters"]["mlp"]["energy"]["exponent"] == pytest.approx(0.5, abs=0.1)
    assert measured["energy_note"] is None


def zero_trials(memory_at_3: float, *, sweep_free: bool = True) -> list[dict]:
    rng = np.random.default_rng(1)
    out = []
    for stage in (0, 3):
        for seed in SEEDS:
            memory = (memory_at_3 if stage == 3 else 1.0) * 1e7 * float(np.exp(rng.normal(0, 0.03)))
            out.append(trial_rows(f"z{stage}-{seed}", seed, parameters=5e5, size="xl", workers=2, zero_stage=stage,
                                  step_time=0.01, memory=memory, ranks=2))
    return out


@pytest.mark.parametrize(("ratio", "effect"), [(0.5, True), (1.0, False)])
def test_zero_memory_ratio_over_seeds_in_both_directions(ratio, effect):
    zero = analyze(frame(zero_trials(ratio)))["zero_tradeoff"]
    assert zero["available"] and [r["zero_stage"] for r in zero["table"]] == [0, 3]
    top = zero["table"][1]
    assert top["seeds"] == 3 and top["relative_memory"]["n"] == {"seeds": 3}
    inside = top["relative_memory"]["low"] <= 1.0 <= top["relative_memory"]["high"]
    assert inside is not effect


def test_zero_table_keys_on_factors_never_on_the_sweep_name_nor_mixes_worker_counts():
    trials = zero_trials(0.5)
    trials.append(trial_rows("w4", 0, parameters=5e5, size="xl", workers=4, zero_stage=1, step_time=0.01, ranks=4))
    zero = analyze(frame(trials))["zero_tradeoff"]  # every trial's sweep is "synthetic": no sweep named zero_stage
    assert "workers=2" in zero["condition"] and [r["zero_stage"] for r in zero["table"]] == [0, 3]


def workers_trials(engine: str, efficiency: float) -> list[dict]:
    out = []
    for workers, micro in ((1, 128), (2, 64)):
        for seed in SEEDS:
            step = 0.01 * (1 if workers == 1 else 1 / (2 * efficiency)) * (1 + 0.01 * seed)
            out.append(trial_rows(f"w{workers}-{seed}", seed, parameters=5e5, size="xl", workers=workers,
                                  micro_batch=micro, engine=engine, step_time=step, ranks=workers))
    return out


def test_worker_scaling_refused_when_the_engine_changes_with_workers():
    ws = analyze(frame(workers_trials("auto", 0.8)))["worker_scaling"]  # auto: plain at 1, deepspeed at 2
    assert ws["available"] is False and "engine" in ws["reason"]


@pytest.mark.parametrize("efficiency", [0.5, 1.0])
def test_strong_scaling_efficiency_with_the_engine_fixed(efficiency):
    ws = analyze(frame(workers_trials("deepspeed", efficiency)))["worker_scaling"]
    assert ws["mode"] == "strong" and [r["workers"] for r in ws["table"]] == [1, 2]
    e = ws["table"][1]["efficiency"]
    assert e["estimate"] == pytest.approx(efficiency, rel=0.02) and e["n"] == {"seeds": 3}


def test_per_condition_never_pools_families_or_sizes():
    gpt = [trial_rows(f"g{seed}", seed, parameters=2e4, family="gpt", size="nano", dataset="text_bytes",
                      step_time=0.05) for seed in SEEDS]
    found = analyze(frame(size_sweep(0.5) + gpt))
    conditions = found["per_condition"]
    assert len(conditions) == len(SIZES) + 1 and all(c["seeds"] == 3 for c in conditions)
    heads = as_dicts(ComputeStudy().headlines(found))
    energy = [h for h in heads if h["finding"].startswith("energy per training sample")]
    assert len(energy) == 2 and all("3 seeds" in h["over"] and h["interval"] is not None for h in energy)
    gpt_head = next(h for h in energy if "gpt" in h["finding"])
    assert gpt_head["value"] == pytest.approx(10.0 * 20 * 0.05 / (64 * 20))  # that condition's own J per sample


def test_flop_ratio_is_a_range_per_family():
    ratios = analyze(frame(size_sweep(0.5)))["flops_counted_over_analytic"]
    assert ratios["mlp"]["kind"] == "range" and ratios["mlp"]["low"] == pytest.approx(0.97)


def _round_trip(found: dict, tmp_path) -> str:
    study = ComputeStudy()
    found = json.loads(json.dumps(found, default=str))
    figures = study.figures(pl.DataFrame(schema=ROW_SCHEMA), found, tmp_path)
    as_dicts(study.headlines(found))
    return study.report(found, figures)


def test_one_seed_gives_values_with_reasons_not_intervals(tmp_path):
    found = analyze(frame(size_sweep(0.5)[:: len(SEEDS)]))
    cond = found["per_condition"][0]
    assert cond["seeds"] == 1 and cond["energy_j_per_sample"]["low"] is None
    assert "one value" in cond["energy_j_per_sample"]["reason"]
    assert found["zero_tradeoff"]["available"] is False and found["worker_scaling"]["available"] is False
    assert "Not measurable" in _round_trip(found, tmp_path)


def test_no_rows_and_nan_values_do_not_crash(tmp_path):
    empty = analyze(pl.DataFrame(schema=ROW_SCHEMA))
    assert empty["not_measurable"] and _round_trip(empty, tmp_path).count("Not measurable") == 1
    rows = frame(size_sweep(0.5)).with_columns(
        pl.when(pl.col("metric") == "energy").then(float("nan")).otherwise(pl.col("value")).alias("value"))
    assert "Energy" in _round_trip(analyze(rows), tmp_path)
    one_size = frame([t for t in size_sweep(0.5) if t["trial_id"][0].startswith("s-")])
    assert analyze(one_size)["scaling_with_parameters"]["available"] is False
