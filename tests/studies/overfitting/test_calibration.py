"""Calibration metrics against cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from dl_drawbacks.studies.overfitting.calibration import (TemperatureScaling, apply_temperature, brier_score, expected_calibration_error,
                                               negative_log_likelihood, reliability_bins)


def calibrated_sample(n: int = 200_000, k: int = 10, seed: int = 0):
    """Labels drawn from the predicted distribution itself: perfectly calibrated by construction."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2.0, (n, k))
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = (p.cumsum(1) > rng.random((n, 1))).argmax(1)
    return p, y


def test_perfectly_calibrated_predictions_have_ece_near_zero():
    p, y = calibrated_sample()
    assert expected_calibration_error(p, y) < 0.01


def test_ece_of_a_constant_overconfident_predictor():
    # always 0.9 on class 0 while class 0 is right half the time: ECE = |0.5 − 0.9| = 0.4
    p = np.tile([0.9, 0.1], (1000, 1))
    y = np.array([0, 1] * 500)
    assert expected_calibration_error(p, y) == pytest.approx(0.4)
    bins = reliability_bins(p, y)
    assert bins["count"].sum() == 1000 and bins["count"][13] == 1000  # 0.9 falls in (13/15, 14/15]


def test_nll_and_brier_known_values():
    p = np.array([[0.5, 0.5], [1.0, 0.0]])
    y = np.array([0, 0])
    assert negative_log_likelihood(p, y) == pytest.approx(np.log(2) / 2)
    assert brier_score(p, y) == pytest.approx((0.25 + 0.25 + 0.0) / 2)


def test_temperature_scaling_reduces_ece_of_overconfident_model():
    p, y = calibrated_sample(n=20_000)
    sharp = apply_temperature(p, 0.4)  # logits × 2.5: over-confident
    val, test = slice(0, 10_000), slice(10_000, None)
    ts = TemperatureScaling().fit(sharp[val], y[val])
    assert ts.temperature_ == pytest.approx(2.5, rel=0.1)
    before, after = expected_calibration_error(sharp[test], y[test]), expected_calibration_error(ts.transform(sharp[test]), y[test])
    assert before > 0.1 and after < 0.02
