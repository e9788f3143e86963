"""Referee of the affine compute fit (step time = t0 + c · FLOPs): known overhead and slope, both directions,
point and coverage of the intervals of c and t0."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dl_drawbacks.studies.compute.affine import TFLOP, AffineTimeFit

FLOPS = np.array([2e9, 8e9, 3.2e10, 1.28e11, 5.12e11])  # per step, five model sizes


def _trials(rng: np.random.Generator, *, overhead: float, per_tflop: float, lack_of_fit: float = 0.02,
            seed_sd: float = 0.01, seeds: int = 3) -> pl.DataFrame:
    """Step times around t0 + c·F with a per-size deviation its seeds share and per-seed noise (relative)."""
    x = np.repeat(FLOPS, seeds)
    truth = overhead + per_tflop * x / TFLOP
    size_effect = np.repeat(rng.normal(0, lack_of_fit * (overhead + per_tflop * FLOPS / TFLOP)), seeds)
    return pl.DataFrame({"flops_per_step": x, "step_time_mean": truth + size_effect
                         + rng.normal(0, seed_sd * truth)})


def test_an_exact_affine_law_is_recovered_with_its_units():
    frame = pl.DataFrame({"flops_per_step": np.repeat(FLOPS, 2), "step_time_mean": 0.004 + 2.0 * np.repeat(FLOPS, 2)
                          / TFLOP})
    s = AffineTimeFit().fit(frame).summary()
    assert s["seconds_per_tflop"]["estimate"] == pytest.approx(2.0)
    assert s["overhead_s"]["estimate"] == pytest.approx(0.004, abs=1e-12)
    assert s["marginal_flops_per_s"] == pytest.approx(0.5e12)
    assert s["seconds_per_tflop"]["n"] == {"sizes": 5, "trials": 10}
    assert s["overhead_share_smallest"] == pytest.approx(0.004 / (0.004 + 2.0 * FLOPS[0] / TFLOP))
    one = AffineTimeFit().fit(frame.filter(pl.col("flops_per_step") == FLOPS[0])).summary()
    assert one["available"] is False and "fewer than two" in one["reason"]


@pytest.mark.parametrize(("per_tflop", "found"), [(2.0, True), (0.0, False)])
def test_slope_found_when_real_not_when_flat_with_coverage(per_tflop, found):
    rng = np.random.default_rng(25)
    fits = [AffineTimeFit().fit(_trials(rng, overhead=0.01, per_tflop=per_tflop)) for _ in range(200)]
    slopes = [f.slope_interval_ for f in fits]
    overheads = [f.overhead_interval_ for f in fits]
    covered = np.mean([iv.contains(per_tflop) for iv in slopes])
    assert 0.9 <= covered <= 0.995, covered  # the nominal 95%
    assert 0.9 <= np.mean([iv.contains(0.01) for iv in overheads]) <= 0.995
    excludes_zero = np.mean([not iv.contains(0.0) for iv in slopes])
    assert (excludes_zero > 0.9) if found else (excludes_zero < 0.1), excludes_zero
    assert np.mean([f.slope_ for f in fits]) == pytest.approx(per_tflop, abs=0.05)  # unbiased point
    assert np.mean([f.overhead_ for f in fits]) == pytest.approx(0.01, abs=5e-4)
