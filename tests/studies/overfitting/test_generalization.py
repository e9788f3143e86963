"""Label corruption, augmentation, and the clean-label gap and memorization on synthetic rows with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dl_drawbacks.errors import DataError
from dl_drawbacks.studies.overfitting.analysis import overfitting_findings
from dl_drawbacks.studies.overfitting.kind import OverfitTreatment, corrupt_labels, refuse_non_image, shift_and_noise


def test_label_noise_changes_exactly_that_share_to_other_classes():
    y = np.repeat(np.arange(10), 100)
    noisy = corrupt_labels(y, 10, noise=0.3, shuffle=False, seed=3)
    assert np.mean(noisy != y) == pytest.approx(0.3)  # every replaced label is a different class
    assert np.array_equal(noisy, corrupt_labels(y, 10, noise=0.3, shuffle=False, seed=3))
    shuffled = corrupt_labels(y, 10, noise=0.0, shuffle=True, seed=3)
    assert sorted(shuffled) == sorted(y) and np.mean(shuffled != y) > 0.8


def test_random_labels_and_noise_are_exclusive():
    with pytest.raises(ValueError, match="not both"):
        OverfitTreatment(random_labels=True, label_noise=0.1)


def test_shift_moves_pixels_and_augmentation_is_refused_for_tabular():
    x = torch.zeros(50, 64)
    x[:, 27] = 1.0  # one lit pixel at (3, 3)
    out = shift_and_noise(x, (1, 8, 8), shift=1, noise=0.0, gen=torch.Generator().manual_seed(0))
    assert torch.all(out.sum(1) == 1.0)  # still one pixel, inside the image
    assert (out[:, 27] == 0).any()  # some moved
    with pytest.raises(DataError, match="tabular"):
        refuse_non_image("augment", "tabular", "adult")


def _gap_of(findings: dict, **want) -> dict:
    return next(r for r in findings["gap"] if all(r[k] == v for k, v in want.items()))


def test_gap_is_detected_when_train_accuracy_exceeds_test(options, synth):
    rng = np.random.default_rng(0)
    rows = synth.concat(
        [
            synth.trial_rows(
                seed=s, sweep="width", test_correct=synth.correct(0.80, rng), train_acc=1.0, train_clean=1.0
            )
            for s in range(5)
        ]
    )
    g = _gap_of(overfitting_findings(rows, options), width=64)
    assert g["gap_clean"]["estimate"] == pytest.approx(0.20)
    assert g["gap_clean"]["low"] > 0.1 and g["gap_clean"]["over"] == "seeds x test samples"


def test_no_gap_when_train_and_test_accuracy_agree(options, synth):
    rng = np.random.default_rng(1)
    rows = synth.concat(
        [
            synth.trial_rows(
                seed=s, sweep="width", test_correct=synth.correct(0.9, rng), train_acc=0.9, train_clean=0.9
            )
            for s in range(5)
        ]
    )
    g = _gap_of(overfitting_findings(rows, options), width=64)
    assert g["gap_clean"]["estimate"] == pytest.approx(0.0, abs=1e-9)
    assert g["gap_clean"]["low"] < 0 < g["gap_clean"]["high"]


def test_noisy_gap_uses_clean_train_labels_and_memorization_is_separate(options, synth):
    # trained on 40% flipped labels: 60% fit on them, 95% right on the clean labels, 85% on test.
    # The old definition (noisy train − clean test) would say −0.25; the clean-label gap is +0.10.
    rng = np.random.default_rng(2)
    rows = synth.concat(
        [
            synth.trial_rows(
                seed=s,
                sweep="width",
                label_noise=0.4,
                test_correct=synth.correct(0.85, rng),
                train_acc=0.6,
                train_clean=0.95,
                flipped_acc=0.05,
            )
            for s in range(5)
        ]
    )
    g = _gap_of(overfitting_findings(rows, options), label_noise=0.4)
    assert g["gap_clean"]["estimate"] == pytest.approx(0.10)
    assert g["memorization_rate"]["estimate"] == pytest.approx(0.05)
    assert g["train_accuracy_labels"]["estimate"] == pytest.approx(0.6)


def test_conditions_are_never_pooled(options, synth):
    rng = np.random.default_rng(3)
    frames = [
        synth.trial_rows(
            seed=s, sweep="width", width=w, test_correct=synth.correct(acc, rng), train_acc=1.0, train_clean=1.0
        )
        for s in range(3)
        for w, acc in ((16, 0.7), (256, 0.9))
    ]
    f = overfitting_findings(synth.concat(frames), options)
    assert [(r["width"], r["seeds"]) for r in f["gap"]] == [(16, 3), (256, 3)]
    assert _gap_of(f, width=16)["gap_clean"]["estimate"] == pytest.approx(0.3)


def test_random_labels_memorization_ratio(options, synth):
    rng = np.random.default_rng(4)
    frames = [
        synth.trial_rows(
            seed=s,
            sweep="random_labels",
            random_labels=r,
            test_correct=synth.correct(acc, rng),
            train_acc=tr,
            train_clean=0.1 if r else 1.0,
            flipped_acc=1.0 if r else None,
        )
        for s in range(3)
        for r, acc, tr in ((False, 0.9, 1.0), (True, 0.1, 0.55))
    ]
    m = overfitting_findings(synth.concat(frames), options)["memorization"]["conditions"][0]
    assert m["memorization_ratio"]["estimate"] == pytest.approx((0.55 - 0.1) / 0.9)
    assert m["test_accuracy_random"]["estimate"] == pytest.approx(0.1) and m["test_accuracy_true"][
        "estimate"
    ] == pytest.approx(0.9)


def test_full_memorization_keeps_the_gap_positive_and_reports_the_clean_label_drop(options, synth):
    # every flip memorized at 40% noise: uncorrupted samples 100% right, all samples on clean labels 60% right, test 66%
    rng = np.random.default_rng(5)
    rows = synth.concat(
        [
            synth.trial_rows(
                seed=s,
                sweep="width",
                label_noise=0.4,
                test_correct=synth.correct(0.66, rng),
                train_acc=1.0,
                train_clean=0.6,
                kept_acc=1.0,
                flipped_acc=1.0,
            )
            for s in range(5)
        ]
    )
    g = _gap_of(overfitting_findings(rows, options), label_noise=0.4)
    assert g["gap_clean"]["estimate"] == pytest.approx(0.34) and g["gap_clean"]["low"] > 0.25
    assert g["gap_all_clean_labels"]["estimate"] == pytest.approx(-0.06)
    assert g["memorization_rate"]["estimate"] == pytest.approx(1.0)


def _cond(noise, width, n, epochs=60, regularizer="none", random_labels=0.0):
    return {"condition": f"{noise}/{width}/{n}/{epochs}/{regularizer}", "label_noise": noise, "width": width,
            "n_train": n, "epochs": epochs, "regularizer": regularizer, "random_labels": random_labels}


def test_headline_gaps_compare_noise_levels_at_one_shared_training_size():
    from dl_drawbacks.studies.overfitting.generalization import headline_conditions

    # noise 0 also has a larger n (the size sweep) and a longer budget (the random-label twin): not shared
    table = [_cond(0.0, 512, 500), _cond(0.0, 512, 1078), _cond(0.0, 512, 500, epochs=120),
             _cond(0.2, 64, 500), _cond(0.2, 512, 500), _cond(0.2, 512, 500, regularizer="dropout 0.5"),
             _cond(0.4, 512, 500), _cond(0.4, 128, 500)]
    picks, design = headline_conditions(table)
    assert {k: (r["width"], r["n_train"], r["epochs"]) for k, r in picks.items()} == {
        "0": (512, 500, 60), "0.2": (512, 500, 60), "0.4": (512, 500, 60)}
    assert design == {"shared": True, "note": "every label-noise level at width 512, n 500, 60 epochs"}
    picks, design = headline_conditions([_cond(0.0, 512, 1078), _cond(0.2, 512, 500)])
    assert not design["shared"] and "not comparable" in design["note"]
    assert picks["0"]["n_train"] == 1078 and picks["0.2"]["n_train"] == 500
    # a CNN at the same width and size, its pixels in place or shuffled: never mistaken for the MLP's condition
    cnn = [{**_cond(0.0, 512, 500), "condition": "cnn", "model_family": "cnn"},
           {**_cond(0.0, 512, 500), "condition": "cnn shuffled", "model_family": "cnn", "shuffle_pixels": 1.0}]
    mlp = [{**_cond(noise, 512, 500), "model_family": "mlp"} for noise in (0.0, 0.2)]
    picks, design = headline_conditions(mlp + cnn)
    assert {k: r["model_family"] for k, r in picks.items()} == {"0": "mlp", "0.2": "mlp"}
    assert design["note"] == "every label-noise level at mlp width 512, n 500, 60 epochs"
