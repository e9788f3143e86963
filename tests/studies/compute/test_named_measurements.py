"""Issue 25's 'name what is measured' for compute: the affine step-time fit in the findings, MFU only against a
stated peak, host load flagged on timing headlines, the ZeRO ratio headlined only where model states dominate."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dl_drawbacks.measure.model_states import model_state_bytes
from dl_drawbacks.spec.models import MeasureSpec
from dl_drawbacks.studies.compute.analysis import MFU_NOT_REPORTED
from dl_drawbacks.studies.compute.kind import ComputeOptions, ComputeStudy
from dl_drawbacks.headline import as_dicts
from .synthetic import frame, trial_rows

SIZES = {"xs": 2e3, "s": 8e3, "m": 3.2e4, "l": 1.28e5, "xl": 5.12e5}
SEEDS = (0, 1, 2)


def analyze(rows: pl.DataFrame, **options) -> dict:
    return ComputeStudy().analyze(rows, ComputeOptions(**options), measure=MeasureSpec())


def heads(found: dict) -> dict[str, dict]:
    return {h["key"]: h for h in as_dicts(ComputeStudy().headlines(found))}


def affine_sweep(overhead: float, per_tflop: float, *, load: float = 0.5) -> list[dict]:
    rng = np.random.default_rng(3)
    return [trial_rows(f"{size}-{seed}", seed, parameters=n, size=size, load=load,
                       step_time=(overhead + per_tflop * 6 * n * 64 / 1e12) * float(np.exp(rng.normal(0, 0.01))))
            for size, n in SIZES.items() for seed in SEEDS]


def test_the_affine_fit_names_the_overhead_a_power_law_reads_as_an_exponent():
    found = analyze(frame(affine_sweep(0.002, 5.0)))
    fit = found["scaling_with_parameters"]["mlp"]
    assert fit["affine"]["seconds_per_tflop"]["estimate"] == pytest.approx(5.0, rel=0.05)
    assert fit["affine"]["overhead_s"]["estimate"] == pytest.approx(0.002, rel=0.05)
    assert fit["time"]["exponent"] < 0.7  # the same data read as a power law: a sub-linear exponent, not 1
    h = heads(found)
    assert h["step_time_per_tflop/mlp"]["resolved"] and h["step_time_per_tflop/mlp"]["unit"] == "s/TFLOP"
    flat = heads(analyze(frame(affine_sweep(0.002, 0.0))))["step_time_per_tflop/mlp"]
    assert not flat["resolved"] and "includes 0" in flat["reason"]


def test_timing_headlines_on_a_loaded_host_are_flagged_not_hidden():
    quiet = heads(analyze(frame(affine_sweep(0.002, 5.0, load=0.5))))
    loaded_found = analyze(frame(affine_sweep(0.002, 5.0, load=12.0)))
    loaded = heads(loaded_found)
    for key, n in (("step_time_per_tflop/mlp", 15), ("step_time_exponent/mlp", 15), ("energy_per_sample/mlp", 3)):
        assert "loaded host" not in (quiet[key]["reason"] or "")
        assert f"{n} of {n} trials above a load average of 1 per CPU" in loaded[key]["reason"]
        assert loaded[key]["resolved"] == quiet[key]["resolved"]
        assert loaded[key]["value"] == quiet[key]["value"]  # flagged, not dropped
    assert len(loaded_found["host_load"]["above"]) == 15
    assert "15 of 15 trials ran above 1 per CPU" in ComputeStudy().report(loaded_found, [])
    relaxed = heads(analyze(frame(affine_sweep(0.002, 5.0, load=12.0)), max_load_per_cpu=20.0))
    assert "loaded host" not in (relaxed["step_time_per_tflop/mlp"]["reason"] or "")


def test_mfu_is_not_reported_without_a_stated_peak():
    rows = frame(affine_sweep(0.002, 5.0)).filter(pl.col("metric") != "mfu")
    found = analyze(rows)
    mfu = found["per_condition"][0]["mfu"]
    assert mfu["estimate"] is None and mfu["reason"] == MFU_NOT_REPORTED
    report = ComputeStudy().report(found, [])
    assert "not reported" in report
    assert "Peak FLOP/s: none stated" in report and "Peak FLOP/s: ." not in report  # named, never left blank


def zero_trials(*, rss_noise: float, parameters: float = 5e5) -> list[dict]:
    """ZeRO 0 vs 3 on 2 workers, fp32 AdamW: the measured saving is the expected one, plus sampled-RSS noise."""
    rng = np.random.default_rng(7)
    out = []
    for stage in (0, 3):
        states = model_state_bytes(int(parameters), precision="fp32", optimizer="adamw", zero_stage=stage, workers=2)
        for seed in SEEDS:
            memory = 3e7 + states + rng.normal(0, rss_noise)
            out.append(trial_rows(f"z{stage}-{seed}", seed, parameters=parameters, size="xl", workers=2,
                                  zero_stage=stage, step_time=0.01, memory=memory, ranks=2, model_states=states))
    return out


@pytest.mark.parametrize(("rss_noise", "headlined"), [(2e5, True), (2e7, False)])
def test_zero_ratio_headlined_only_where_model_states_dominate_the_rss_noise(rss_noise, headlined):
    found = analyze(frame(zero_trials(rss_noise=rss_noise)))
    top = found["zero_tradeoff"]["table"][1]
    assert top["expected_saving_bytes"] == pytest.approx(16 * 5e5 / 2)  # (4+4+8)Ψ, half of it partitioned away
    assert top["model_states_dominate"] is headlined
    h = heads(found)["zero_memory_ratio"]
    assert "expects a 3.81 MiB model-state saving" in h["finding"]
    assert h["resolved"] is headlined
    if not headlined:
        assert "model states do not dominate" in h["reason"] and h["value"] is None


def test_zero_paper_counts():
    psi = 1_000_000
    assert model_state_bytes(psi, precision="bf16", optimizer="adamw", zero_stage=0, workers=64) == 16 * psi
    assert model_state_bytes(psi, precision="bf16", optimizer="adamw", zero_stage=1, workers=4) == 4 * psi + 3 * psi
    assert model_state_bytes(psi, precision="bf16", optimizer="adamw", zero_stage=2, workers=2) == 2 * psi + 7 * psi
    assert model_state_bytes(psi, precision="bf16", optimizer="adamw", zero_stage=3, workers=8) == 2 * psi
    assert model_state_bytes(psi, precision="fp32", optimizer="sgd", zero_stage=0, workers=1, momentum=0.9) == 12 * psi
