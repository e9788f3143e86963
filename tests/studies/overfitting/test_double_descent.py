"""Double descent as a test: a real peak is declared with the interpolation threshold, a monotone or flat
curve is not."""

from __future__ import annotations

import numpy as np
import pytest

from dl_drawbacks.studies.overfitting.analysis import overfitting_findings

WIDTHS = (8, 16, 32, 64, 128)
TRAIN = (0.7, 0.9, 1.0, 1.0, 1.0)  # interpolates its (noisy) training labels from width 32


def _curve(synth, options, test_accuracy, *, seeds=5, jitter=0.0, seed=0):
    rng = np.random.default_rng(seed)
    frames = [
        synth.trial_rows(
            seed=s,
            sweep="width",
            width=w,
            label_noise=0.2,
            train_acc=tr,
            train_clean=0.9,
            flipped_acc=tr - 0.1,
            test_correct=synth.correct(float(np.clip(acc + rng.normal(0, jitter), 0, 1)), rng),
        )
        for s in range(seeds)
        for w, tr, acc in zip(WIDTHS, TRAIN, test_accuracy)
    ]
    return overfitting_findings(synth.concat(frames), options)["double_descent"]["conditions"][0]


def test_real_peak_is_declared_at_the_threshold(options, synth):
    c = _curve(synth, options, (0.85, 0.80, 0.65, 0.78, 0.86), jitter=0.01)
    assert c["peak"] and c["candidate_width"] == 32 and c["verdict"] == "peak at width 32"
    assert c["interpolation_threshold"] == 32 and c["peak_within_one_width_of_threshold"]
    assert c["excess_over_left"]["low"] > 0 and c["excess_over_right"]["low"] > 0
    assert c["level"] == pytest.approx(1 - 0.05 / 6)  # Bonferroni: 3 interior widths × 2 sides


def test_monotone_curve_has_no_peak(options, synth):
    c = _curve(synth, options, (0.70, 0.80, 0.85, 0.88, 0.90), jitter=0.01)
    assert not c["peak"] and c["verdict"].startswith("no peak resolved")
    assert [p["width"] for p in c["curve"]] == list(WIDTHS)


def test_flat_noisy_curve_is_not_called_a_peak(options, synth):
    # the argmax of noisy means is interior by chance; the paired test must not call it a peak
    calls = [_curve(synth, options, (0.8,) * 5, seeds=3, jitter=0.02, seed=k)["peak"] for k in range(5)]
    assert not any(calls)


def test_small_bump_within_noise_is_not_resolved(options, synth):
    c = _curve(synth, options, (0.85, 0.84, 0.835, 0.845, 0.85), seeds=2, jitter=0.02)
    assert not c["peak"]


def test_too_few_widths_is_not_testable(options, synth):
    rng = np.random.default_rng(0)
    frames = [
        synth.trial_rows(
            seed=s, sweep="width", width=w, train_acc=1.0, train_clean=1.0, test_correct=synth.correct(0.9, rng)
        )
        for s in range(2)
        for w in (8, 16)
    ]
    c = overfitting_findings(synth.concat(frames), options)["double_descent"]["conditions"][0]
    assert not c["peak"] and c["verdict"].startswith("not testable")
