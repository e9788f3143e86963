"""Regularizers are tuned on validation (per seed, strength 0 included) and only then ranked by test accuracy, with
paired intervals against the unregularized model; the test split never chooses a strength."""

from __future__ import annotations

import numpy as np
import pytest

from dl_drawbacks.studies.overfitting.analysis import overfitting_findings

SEEDS = range(5)


def _ablation(synth, options):
    rng = np.random.default_rng(0)
    frames = []
    common = dict(sweep="regularization", label_noise=0.2)
    for s in SEEDS:
        frames.append(synth.trial_rows(
            seed=s, **common, test_correct=synth.correct(0.80, rng), train_acc=1.0, train_clean=0.95,
            flipped_acc=0.9, best_correct=synth.correct(0.83, rng)))
        # dropout 0.3: best on validation (0.88), 0.86 on test
        frames.append(synth.trial_rows(
            seed=s, **common, dropout=0.3, val_acc=0.88, test_correct=synth.correct(0.86, rng), train_acc=0.95,
            train_clean=0.95, flipped_acc=0.5))
        # dropout 0.7: the best on *test* (0.92) but worse on validation (0.75): tuning must not pick it
        frames.append(synth.trial_rows(
            seed=s, **common, dropout=0.7, val_acc=0.75, test_correct=synth.correct(0.92, rng), train_acc=0.9,
            train_clean=0.95, flipped_acc=0.3))
        # weight decay 0.5: worse than none on validation and test, and no gap: tuning keeps strength 0 (none)
        frames.append(synth.trial_rows(
            seed=s, **common, weight_decay=0.5, test_correct=synth.correct(0.70, rng), train_acc=0.6,
            train_clean=0.68, flipped_acc=0.0))
    return overfitting_findings(synth.concat(frames), options)["regularization"]["conditions"][0]


def test_strengths_are_chosen_on_validation_and_ranked_on_test(options, synth):
    c = _ablation(synth, options)
    names = [e["regularizer"] for e in c["table"]]
    assert names == ["dropout", "early stopping (epoch of lowest validation loss)", "none", "weight decay"]
    drop = c["table"][0]
    assert drop["selected"] == {s: "dropout 0.3" for s in SEEDS}  # not 0.7, the best on test
    assert drop["test_accuracy"]["estimate"] == pytest.approx(0.86)
    assert [(g["strength"], g["selected_in_seeds"]) for g in drop["grid"]] == [
        ("none", 0), ("dropout 0.3", 5), ("dropout 0.7", 0)]
    assert "test_accuracy" not in drop["grid"][0]  # per-strength test accuracy is not reported
    assert drop["delta_test_accuracy"]["estimate"] == pytest.approx(0.06) and drop["delta_test_accuracy"]["low"] > 0
    assert c["best"] == "dropout" and c["best_beats_none"] and c["best_resolved"]
    wd = c["table"][-1]
    assert wd["selected"] == {s: "none" for s in SEEDS}  # strength 0 wins on validation
    assert wd["delta_test_accuracy"]["estimate"] == 0
    es = c["table"][1]
    assert es["delta_test_accuracy"]["estimate"] == pytest.approx(0.03)


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
