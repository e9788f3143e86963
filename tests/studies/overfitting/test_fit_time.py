"""The fit-time trend (studies/overfitting/fit_time.py): a referee on simulated epochs-to-fit with a known slope,
in both directions and at zero; seeds that never fitted a condition are left out and counted."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from dl_drawbacks.studies.overfitting.fit_time import fit_time_trend

O = SimpleNamespace(fit_threshold=0.99, level=0.95)
SHARES = [0.0, 0.2, 0.4, 0.6]


def _table(slope: float, seeds: int, rng) -> pl.DataFrame:
    rows = []
    for seed in range(seeds):
        for share in [*SHARES, 1.0]:
            epochs = 10 * np.exp(slope * share + rng.normal(0, 0.15))
            rows.append({"seed": seed, "label_noise": share if share < 1 else 0.0, "random_labels": share == 1.0,
                         "shuffle_pixels": 0.0,
                         "epochs_to_fit": max(1, int(round(epochs)))})
    return pl.DataFrame(rows)


@pytest.mark.parametrize(("slope", "side"), [(1.5, "above"), (-1.5, "below")])
def test_a_known_slope_is_recovered_with_its_sign(slope, side):
    rng = np.random.default_rng(1)
    found = fit_time_trend(_table(slope, 5, rng), O)["slope"]
    assert found["n"] == {"seeds": 5}
    assert found["low"] > 0 if side == "above" else found["high"] < 0
    assert found["low"] - 0.1 <= slope <= found["high"] + 0.1


def test_coverage_at_zero_slope():
    """No trend: the 95% interval over 4 seeds covers 0 in about 95% of 60 simulated studies."""
    rng = np.random.default_rng(2)
    covered = [fit_time_trend(_table(0.0, 4, rng), O)["slope"] for _ in range(60)]
    assert sum(c["low"] <= 0 <= c["high"] for c in covered) >= 53


def test_a_seed_that_never_fitted_a_condition_is_left_out_and_counted():
    t = _table(1.0, 3, np.random.default_rng(3))
    t = t.with_columns(pl.when((pl.col("seed") == 2) & pl.col("random_labels")).then(None)
                       .otherwise(pl.col("epochs_to_fit")).alias("epochs_to_fit"))
    found = fit_time_trend(t, O)
    assert found["seeds_left_out"] == [2] and found["slope"]["n"] == {"seeds": 2}
    assert [r["seeds_fitted"] for r in found["per_share"]] == [3, 3, 3, 3, 2]
    assert fit_time_trend(t.filter(pl.col("label_noise") == 0.2), O)["available"] is False
