"""Calibration metrics and temperature scaling against cases with known answers, in both directions."""

from __future__ import annotations

import numpy as np
import pytest

from dl_drawbacks.studies.overfitting.calibration import (
    TemperatureScaling,
    brier_score,
    calibrated_ece_floor,
    ece_of_signed,
    expected_calibration_error,
    negative_log_likelihood,
    reliability_bins,
    softmax,
)
from dl_drawbacks.studies.overfitting.kind import signed_confidence


def calibrated_sample(n: int = 200_000, k: int = 10, seed: int = 0):
    """Logits and labels drawn from softmax(logits) itself: perfectly calibrated by construction."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2.0, (n, k))
    p = softmax(logits)
    y = (p.cumsum(1) > rng.random((n, 1))).argmax(1)
    return logits, y


def test_calibrated_model_has_ece_near_zero_and_overconfident_one_large():
    logits, y = calibrated_sample()
    assert expected_calibration_error(softmax(logits), y) < 0.01
    assert expected_calibration_error(softmax(logits * 3), y) > 0.15  # sharpened: over-confident


def test_ece_of_a_constant_overconfident_predictor():
    # always 0.9 on class 0 while class 0 is right half the time: ECE = |0.5 − 0.9| = 0.4
    p = np.tile([0.9, 0.1], (1000, 1))
    y = np.array([0, 1] * 500)
    assert expected_calibration_error(p, y) == pytest.approx(0.4)
    assert ece_of_signed(signed_confidence(p, y)) == pytest.approx(0.4)
    bins = reliability_bins(p.max(1), p.argmax(1) == y)
    assert bins["count"].sum() == 1000 and bins["count"][13] == 1000  # 0.9 falls in (13/15, 14/15]


def test_calibrated_floor_matches_a_calibrated_model_of_the_same_size():
    logits, y = calibrated_sample(n=449, seed=1)
    p = softmax(logits)
    floor = calibrated_ece_floor(p.max(1))
    assert 0.02 < floor < 0.12  # plug-in ECE of 449 calibrated samples is not 0
    draws = [
        expected_calibration_error(p, (p.cumsum(1) > np.random.default_rng(s).random((449, 1))).argmax(1))
        for s in range(50)
    ]
    assert floor == pytest.approx(np.mean(draws), rel=0.25)


def test_nll_and_brier_known_values():
    p = np.array([[0.5, 0.5], [1.0, 0.0]])
    y = np.array([0, 0])
    assert negative_log_likelihood(p, y) == pytest.approx(np.log(2) / 2)
    assert brier_score(p, y) == pytest.approx((0.25 + 0.25 + 0.0) / 2)


def test_temperature_scaling_on_logits_recovers_the_sharpening():
    logits, y = calibrated_sample(n=20_000)
    val, test = slice(0, 10_000), slice(10_000, None)
    ts = TemperatureScaling().fit(logits[val] * 2.5, y[val])  # fitted on validation only
    assert ts.temperature_ == pytest.approx(2.5, rel=0.1) and not ts.at_bound_
    before = expected_calibration_error(softmax(logits[test] * 2.5), y[test])
    after = expected_calibration_error(ts.transform(logits[test] * 2.5), y[test])
    assert before > 0.1 and after < 0.02


def test_temperature_of_a_calibrated_model_is_one_and_a_hopeless_fit_hits_the_bound():
    logits, y = calibrated_sample(n=20_000, seed=2)
    assert TemperatureScaling().fit(logits, y).temperature_ == pytest.approx(1.0, abs=0.05)
    shuffled = np.random.default_rng(0).permutation(y)  # labels unrelated to logits: best T is +inf
    assert TemperatureScaling().fit(logits, shuffled).at_bound_
