"""Shuffled pixels (Zhang et al. 2017): the permutation itself, the findings that must not pool shuffled with in-place
trials, and a referee for the pixel_shuffle finding (simulated trials with known answers: fitted and not fitted,
point and coverage) with the Zhang spec's verdicts on them both ways."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
import torch

from dl_drawbacks.errors import DataError, SpecError
from dl_drawbacks.plan import plan_suite
from dl_drawbacks.reproduce.verdict import CONTROL_FAILED, NOT_REPRODUCED, REPRODUCED, judge
from dl_drawbacks.rows import RowBuffer
from dl_drawbacks.spec import load_spec
from dl_drawbacks.spec.load import parse_spec
from dl_drawbacks.studies.base import get_kind
from dl_drawbacks.studies.overfitting.analysis import overfitting_findings
from dl_drawbacks.studies.overfitting.kind import (
    PIXEL_PERMUTATION_SEED,
    OverfitOptions,
    OverfitTreatment,
    refuse_non_image,
    shuffle_pixels,
)
from dl_drawbacks.studies.overfitting.pixel_shuffle import pixel_shuffle
from dl_drawbacks.train.context import TrialContext

SPEC = Path(__file__).resolve().parents[3] / "studies" / "reproductions" / "zhang2017-random-labels.yaml"
O = SimpleNamespace(level=0.95, n_bootstrap=100, fit_threshold=0.99)
SWEEPS = "random_labels,width,regularization,train_size"


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 4, 5), (1, 40), (2, 40)])
def test_one_permutation_of_positions_for_every_channel_and_sample(shape):
    channels, positions = shape[0], int(np.prod(shape[1:]))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, channels * positions)).astype(np.float32)
    out = shuffle_pixels(x, shape)
    perm = np.random.default_rng(PIXEL_PERMUTATION_SEED).permutation(positions)
    assert out.shape == x.shape and not np.array_equal(out, x)
    for c in range(channels):  # the same permutation in every channel and sample: pixel p moves to where perm says
        assert np.array_equal(out.reshape(6, channels, positions)[:, c], x.reshape(6, channels, positions)[:, c, perm])
    assert np.array_equal(shuffle_pixels(x, shape), out)  # fixed: independent of any trial seed
    assert np.array_equal(np.sort(out, axis=1), np.sort(x, axis=1))  # a permutation: every value kept


def test_shuffled_pixels_are_refused_with_augmentation_and_without_spatial_positions():
    with pytest.raises(ValueError, match="not both"):
        OverfitTreatment(shuffle_pixels=True, augment=True)
    with pytest.raises(DataError, match="shuffle_pixels.*tabular"):
        refuse_non_image("shuffle_pixels", "tabular", "adult")
    doc = {"name": "tab", "version": 1, "tracking": {"mode": "disabled"}, "studies": [{
        "kind": "overfitting", "data": {"name": "german"}, "trainer": {"budget": {"epochs": 1, "eval_every": 0}},
        "sweeps": [{"name": "pixels", "axes": {"treatment.shuffle_pixels": [False, True]}}]}]}
    with pytest.raises(SpecError, match="treatment.shuffle_pixels: data set 'german' is tabular"):
        plan_suite(parse_spec(doc), source="s")


def _corruption_sweep(synth, *, shuffled: bool) -> pl.DataFrame:
    """Label noise 0 / 0.2 and random labels with the pixels in place, all fitted; with ``shuffled`` the same design
    with shuffled pixels too, deliberately unfitted and at a different test accuracy (pooling them would show). Every
    trial belongs to every sweep a finding reads."""
    rng, rng_shuffled = np.random.default_rng(4), np.random.default_rng(5)  # the in-place trials the same both ways
    frames = []
    for s in range(3):
        for noise, rand, acc in ((0.0, False, 0.9), (0.2, False, 0.8), (0.0, True, 0.1)):
            frames.append(synth.trial_rows(seed=s, sweep=SWEEPS, label_noise=noise, random_labels=rand,
                                           train_acc=1.0, train_clean=0.9, flipped_acc=1.0,
                                           test_correct=synth.correct(acc, rng)))
            if shuffled:
                frames.append(synth.trial_rows(seed=s, sweep=SWEEPS, label_noise=noise, random_labels=rand,
                                               shuffle_pixels=True, train_acc=0.5, train_clean=0.5, flipped_acc=0.3,
                                               test_correct=synth.correct(0.5, rng_shuffled)))
    return synth.concat(frames)


def _in_place(node):
    """``node`` without the list entries that describe a shuffled-pixel condition."""
    if isinstance(node, dict):
        return {k: _in_place(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_in_place(v) for v in node if not (isinstance(v, dict) and v.get("shuffle_pixels"))]
    return node


def test_shuffled_trials_never_pool_with_the_trials_whose_pixels_are_in_place(synth):
    options = OverfitOptions(n_bootstrap=100)
    alone = overfitting_findings(_corruption_sweep(synth, shuffled=False), options)
    mixed = overfitting_findings(_corruption_sweep(synth, shuffled=True), options)
    for finding in ("gap", "headline_conditions", "headline_design", "double_descent", "train_size", "regularization",
                    "memorization", "fit_time", "calibration"):  # every finding of the study but pixel_shuffle itself
        assert _in_place(mixed[finding]) == alone[finding], finding
    assert alone["fit_time"]["seeds_left_out"] == [] and alone["double_descent"]["available"]
    in_place = [m for m in mixed["memorization"]["conditions"] if not m["shuffle_pixels"]]
    assert in_place == alone["memorization"]["conditions"] and in_place[0]["fitted_true"] == "3 of 3"
    (apart,) = [m for m in mixed["memorization"]["conditions"] if m["shuffle_pixels"]]
    assert apart["fitted_random"] == "0 of 3" and apart["fitted_true"] == "0 of 3"  # its own twin: shuffled too
    assert mixed["headline_conditions"] == alone["headline_conditions"]
    (p,) = mixed["pixel_shuffle"]["conditions"]
    assert p["seeds_fitted_shuffled"] == 0 and p["seeds_fitted_true"] == 3
    assert alone["pixel_shuffle"]["available"] is False


def _table(rng, *, train_shuffled, fitted: bool, slowdown=1.5, test_true=0.9, test_shuffled=0.8, seeds=4, n=300):
    """A trial table (the columns pixel_shuffle reads) of one CNN design, in place and shuffled, and its predictions:
    per-seed train accuracies ``train_shuffled`` (in place: 1), epochs to fit 20 in place and ``slowdown`` × that
    shuffled (none when not ``fitted``), test correctness Bernoulli at the given accuracies."""
    rows, preds = [], {}
    for s in range(seeds):
        for shuffled in (0.0, 1.0):
            tid = f"{'s' if shuffled else 'p'}{s}"
            fit = 20 if not shuffled else (round(20 * slowdown * np.exp(rng.normal(0, 0.1))) if fitted else None)
            rows.append({"trial_id": tid, "seed": s, "random_labels": 0.0, "label_noise": 0.0,
                         "shuffle_pixels": shuffled, "model_family": "cnn", "width": 6.0, "depth": 2.0,
                         "n_train": 500.0, "epochs": 150.0, "regularizer": "none", "epochs_run": 150,
                         "final_accuracy_train": float(train_shuffled[s]) if shuffled else 1.0, "epochs_to_fit": fit})
            correct = rng.random(n) < (test_shuffled if shuffled else test_true)
            preds[tid] = np.where(correct, 0.9, -0.9)
    return pl.DataFrame(rows), {"final": preds}


def test_fitted_shuffled_pixels_are_found_fitted_and_the_spec_reproduces_them():
    rng = np.random.default_rng(0)
    t, preds = _table(rng, train_shuffled=[1.0, 0.998, 1.0, 0.996], fitted=True)
    (c,) = pixel_shuffle(t, preds, O)["conditions"]
    assert c["train_accuracy_shuffled"]["estimate"] == pytest.approx(0.9985)
    assert 0.98 <= c["train_accuracy_shuffled"]["low"] and c["train_accuracy_shuffled"]["high"] <= 1.0
    assert c["seeds_fitted_shuffled"] == 4 and c["seeds_fitted_true"] == 4
    assert c["fit_slowdown_per_seed"]["estimate"] == pytest.approx(1.5, rel=0.1)
    assert c["fit_slowdown_per_seed"]["low"] > 1
    assert c["test_accuracy_change"]["estimate"] == pytest.approx(-0.1, abs=0.05)
    assert c["test_accuracy_change"]["high"] < 0
    verdicts = {v.claim: v for v in judge(load_spec(SPEC).reproduces, {"overfitting": {"pixel_shuffle": {
        "conditions": [c]}}})}
    assert verdicts["train accuracy with shuffled pixels (CNN)"].verdict == REPRODUCED


def test_unfitted_shuffled_pixels_are_found_unfitted_and_the_spec_does_not_reproduce_them():
    rng = np.random.default_rng(1)
    t, preds = _table(rng, train_shuffled=[0.62, 0.58, 0.6, 0.61], fitted=False, test_shuffled=0.9)
    (c,) = pixel_shuffle(t, preds, O)["conditions"]
    assert c["seeds_fitted_shuffled"] == 0 and c["fit_slowdown"] is None
    assert c["fit_slowdown_per_seed"]["estimate"] is None
    assert c["train_accuracy_shuffled"]["estimate"] == pytest.approx(0.6025)
    assert c["train_accuracy_shuffled"]["high"] < 0.7
    assert c["test_accuracy_change"]["low"] < 0 < c["test_accuracy_change"]["high"]  # no change planted
    spec = load_spec(SPEC).reproduces
    verdicts = {v.claim: v for v in judge(spec, {"overfitting": {"pixel_shuffle": {"conditions": [c]}}})}
    assert verdicts["train accuracy with shuffled pixels (CNN)"].verdict == NOT_REPRODUCED
    unfit_twin = {**c, "seeds_fitted_true": 3}
    verdicts = {v.claim: v for v in judge(spec, {"overfitting": {"pixel_shuffle": {"conditions": [unfit_twin]}}})}
    assert verdicts["train accuracy with shuffled pixels (CNN)"].verdict == CONTROL_FAILED


def test_coverage_of_train_accuracy_and_of_the_test_accuracy_change():
    """Known means: train accuracy over 4 seeds ~ Beta with mean 0.9, test accuracy 0.8 shuffled vs 0.9 in place;
    each 95% interval covers its true value in at least 90% of 100 simulated studies (the nested test interval
    counts the Bernoulli noise twice and is conservative, see statistics.nested_interval)."""
    rng = np.random.default_rng(7)
    hits = {"train": 0, "change": 0}
    for _ in range(100):
        t, preds = _table(rng, train_shuffled=rng.beta(45, 5, size=4), fitted=True)
        (c,) = pixel_shuffle(t, preds, O)["conditions"]
        hits["train"] += c["train_accuracy_shuffled"]["low"] <= 0.9 <= c["train_accuracy_shuffled"]["high"]
        hits["change"] += c["test_accuracy_change"]["low"] <= -0.1 <= c["test_accuracy_change"]["high"]
    assert hits["train"] >= 90 and hits["change"] >= 90, hits


def _prepared(data: dict, shuffled: bool):
    """The splits of one overfitting trial after ``prepare_data`` (no training)."""
    doc = {"name": "shuffle", "version": 1, "tracking": {"mode": "disabled"}, "studies": [{
        "kind": "overfitting", "data": data, "model": {"family": "cnn", "size": "xs"},
        "trainer": {"micro_batch": 64, "budget": {"epochs": 1, "eval_every": 0}},
        "treatment": {"shuffle_pixels": shuffled, "label_noise": 0.2}, "seeds": [3]}]}
    (trial,) = plan_suite(parse_spec(doc), source="s")[0].trials
    kind = get_kind("overfitting")
    ctx = TrialContext(trial=trial, run_id="r", rank=0, local_rank=0, world_size=1, device=torch.device("cpu"),
                       treatment=kind.Treatment.model_validate(trial.treatment),
                       rows=RowBuffer(trial.study, "r", trial.trial_id, trial.seed, trial.factors))
    kind.prepare_data(ctx)
    return ctx


@pytest.mark.parametrize(("data", "shape"), [({"name": "digits", "n_train": 200}, (1, 8, 8)),
                                             ({"name": "mnist1d", "n_train": 200, "options": {"num_samples": 1000}},
                                              (1, 40))])
def test_every_split_of_a_trial_is_shuffled_by_the_same_permutation(data, shape, tmp_path, monkeypatch):
    monkeypatch.setenv("DL_DRAWBACKS_CACHE", str(tmp_path))
    plain, shuffled = _prepared(data, False), _prepared(data, True)
    for name in ("train", "val", "test", "train_clean", "train_kept", "train_flipped"):
        a, b = plain.splits[name], shuffled.splits[name]
        assert np.array_equal(b.x, shuffle_pixels(a.x, shape)), name  # train/val/test alike, derived splits too
        assert np.array_equal(b.y, a.y), name  # labels (and their corruption) untouched
    setting = shuffled.rows.frame().filter((pl.col("metric") == "setting") & (pl.col("group") == "shuffle_pixels"))
    assert setting["value"].to_list() == [1.0]
