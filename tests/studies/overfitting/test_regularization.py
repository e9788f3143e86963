"""Regularizers are ranked by test accuracy with paired intervals against the unregularized model, not by gap closed."""

from __future__ import annotations

import numpy as np
import pytest

from dl_drawbacks.studies.overfitting.analysis import overfitting_findings


def _ablation(synth, options):
    rng = np.random.default_rng(0)
    frames = []
    for s in range(5):
        ref = synth.correct(0.80, rng)
        frames.append(
            synth.trial_rows(
                seed=s,
                sweep="regularization",
                label_noise=0.2,
                test_correct=ref,
                train_acc=1.0,
                train_clean=0.95,
                flipped_acc=0.9,
                best_correct=synth.correct(0.86, rng),
            )
        )
        # dropout: better on test (0.90) with a gap of 0.05
        frames.append(
            synth.trial_rows(
                seed=s,
                sweep="regularization",
                label_noise=0.2,
                dropout=0.5,
                test_correct=synth.correct(0.90, rng),
                train_acc=0.9,
                train_clean=0.95,
                flipped_acc=0.3,
            )
        )
        # weight decay: no gap at all (negative, even) but worse on test (0.70): closing the gap is not the goal
        frames.append(
            synth.trial_rows(
                seed=s,
                sweep="regularization",
                label_noise=0.2,
                weight_decay=0.5,
                test_correct=synth.correct(0.70, rng),
                train_acc=0.6,
                train_clean=0.68,
                flipped_acc=0.0,
            )
        )
    return overfitting_findings(synth.concat(frames), options)["regularization"]["conditions"][0]


def test_ranked_by_test_accuracy_with_paired_deltas(options, synth):
    c = _ablation(synth, options)
    names = [e["regularizer"] for e in c["table"]]
    assert names == ["dropout 0.5", "early stopping (lowest validation loss)", "none", "weight decay 0.5"]
    assert c["best"] == "dropout 0.5" and c["best_beats_none"] and c["best_resolved"]
    drop = c["table"][0]
    assert drop["delta_test_accuracy"]["estimate"] == pytest.approx(0.10) and drop["delta_test_accuracy"]["low"] > 0
    wd = c["table"][-1]
    assert wd["gap_clean"]["estimate"] == pytest.approx(-0.02) and wd["delta_test_accuracy"]["high"] < 0
    es = c["table"][1]
    assert es["delta_test_accuracy"]["estimate"] == pytest.approx(0.06)


def test_missing_reference_is_reported(options, synth):
    rng = np.random.default_rng(0)
    rows = synth.concat(
        [
            synth.trial_rows(
                seed=s,
                sweep="regularization",
                dropout=0.5,
                test_correct=synth.correct(0.9, rng),
                train_acc=1.0,
                train_clean=1.0,
            )
            for s in range(2)
        ]
    )
    c = overfitting_findings(rows, options)["regularization"]["conditions"][0]
    assert c["available"] is False and "no unregularized trial" in c["reason"]
