"""Double descent as a test: a real peak is declared with the interpolation threshold, a monotone or flat
curve is not, and "no peak" is said only by a design that could have shown one."""

from __future__ import annotations

import numpy as np
import pytest

from dl_drawbacks.studies.overfitting.analysis import overfitting_findings

WIDTHS = (8, 16, 32, 64, 128)
TRAIN = (0.7, 0.9, 1.0, 1.0, 1.0)  # interpolates its (noisy) training labels from width 32


def _curve(synth, options, test_accuracy, *, train=TRAIN, seeds=5, jitter=0.0, seed=0):
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
        for w, tr, acc in zip(WIDTHS, train, test_accuracy)
    ]
    return overfitting_findings(synth.concat(frames), options)["double_descent"]["conditions"][0]


def test_real_peak_is_declared_at_the_threshold(options, synth):
    c = _curve(synth, options, (0.85, 0.80, 0.65, 0.78, 0.86), jitter=0.01)
    assert c["peak"] and c["candidate_width"] == 32 and c["verdict"] == "peak at width 32"
    assert c["interpolation_threshold"] == 32 and c["peak_within_one_width_of_threshold"]
    assert c["excess_over_left"]["low"] > 0 and c["excess_over_right"]["low"] > 0
    assert c["level"] == pytest.approx(1 - 2 * 0.05 / 12)  # one-sided α over (W − 2)(W − 1) = 12 selectable pairs


def test_monotone_curve_has_no_peak(options, synth):
    c = _curve(synth, options, (0.70, 0.80, 0.85, 0.88, 0.90), jitter=0.01)
    assert not c["peak"] and c["design_resolves"] and c["verdict"].startswith("no peak resolved (")
    assert [p["width"] for p in c["curve"]] == list(WIDTHS)


def test_no_peak_from_a_design_that_cannot_interpolate_is_not_a_finding(options, synth):
    never = (0.5, 0.6, 0.7, 0.8, 0.9)  # the widest never interpolates its training labels
    c = _curve(synth, options, (0.70, 0.80, 0.85, 0.88, 0.90), train=never, jitter=0.01)
    assert not c["peak"] and not c["design_resolves"] and c["interpolation_threshold"] is None
    assert c["verdict"].startswith("design cannot resolve a peak: the widest width 128 does not interpolate")


def test_peak_shrinks_without_noise_is_a_paired_interval(options, synth):
    rng = np.random.default_rng(0)
    frames = [
        synth.trial_rows(seed=s, sweep="width", width=w, label_noise=noise, train_acc=tr, train_clean=0.9,
                         flipped_acc=tr - 0.1 if noise else None, test_correct=synth.correct(acc, rng))
        for s in range(3)
        for noise, curve in ((0.0, (0.85, 0.86, 0.85, 0.87, 0.88)), (0.2, (0.85, 0.80, 0.65, 0.78, 0.86)))
        for w, tr, acc in zip(WIDTHS, TRAIN, curve)
    ]
    dd = overfitting_findings(synth.concat(frames), options)["double_descent"]["conditions"]
    noisy = next(c for c in dd if c["label_noise"] == 0.2)
    s = noisy["shrink_without_noise"]
    assert s["available"] and s["widths"] == [32, 8, 128]
    # noisy excess of width 32 over 8: 0.35 − 0.15; clean at the same widths: 0.15 − 0.15; over 128: 0.21 vs 0.03
    assert s["over_left"]["estimate"] == pytest.approx(0.20) and s["over_right"]["estimate"] == pytest.approx(0.18)
    assert s["over_left"]["low"] > 0 and s["over_right"]["low"] > 0
    assert "shrink_without_noise" not in next(c for c in dd if c["label_noise"] == 0.0)
