"""Guo et al. 2017's findings as measured: the temperature-scaling ECE ratio and the ECE-per-doubling slope
recover known answers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from dl_drawbacks.studies.overfitting.calibration import ece_of_signed
from dl_drawbacks.studies.overfitting.calibration_trends import ece_width_slope, temperature_scaling_ratio

O = SimpleNamespace(level=0.95, n_bootstrap=200)


def _signed(rng, conf, acc, n=2000):
    correct = rng.random(n) < acc
    return np.where(correct, conf, -conf) * np.ones(n)


def test_ratio_of_an_overconfident_model_scaled_to_calibration_is_small():
    rng = np.random.default_rng(0)
    ids = [f"t{s}" for s in range(3)]
    # raw: confidence 0.95 at accuracy 0.75 (ECE 0.2); scaled: confidence 0.75 (ECE ≈ sampling noise only)
    preds = {"final": {i: _signed(rng, 0.95, 0.75) for i in ids}}
    preds["temperature_scaled"] = {i: np.where(preds["final"][i] > 0, 0.75, -0.75) for i in ids}
    r = temperature_scaling_ratio(pl.DataFrame({"trial_id": ids, "seed": [0, 1, 2]}), preds, O)
    true = np.mean([ece_of_signed(preds["temperature_scaled"][i]) / ece_of_signed(preds["final"][i]) for i in ids])
    assert r["estimate"] == pytest.approx(true) and r["high"] < 0.5 and r["domain"] == "positive"
    same = temperature_scaling_ratio(pl.DataFrame({"trial_id": ids, "seed": [0, 1, 2]}),
                                     {"final": preds["final"], "temperature_scaled": preds["final"]}, O)
    assert same["estimate"] == pytest.approx(1.0)


@pytest.mark.parametrize("slope", [0.02, 0.0])
def test_width_slope_recovers_the_ece_per_doubling(slope):
    rng = np.random.default_rng(1)
    rows = [{"trial_id": f"{w}-{s}", "seed": s, "width": w, "ece_raw": 0.05 + slope * np.log2(w) + rng.normal(0, 0.003),
             "label_noise": 0.0, "random_labels": 0.0, "depth": 2.0, "n_train": 500, "epochs": 60.0,
             "regularizer": "none", "model_family": "mlp", "shuffle_pixels": 0.0} for w in (16, 64, 256, 1024) for s in range(5)]
    (w,) = ece_width_slope(pl.DataFrame(rows), O)
    assert w["widths"] == [16, 64, 256, 1024] and w["slope"]["estimate"] == pytest.approx(slope, abs=0.003)
    assert w["slope"]["low"] <= slope <= w["slope"]["high"]
    assert (w["slope"]["low"] > 0) == (slope > 0)
