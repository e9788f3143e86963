"""Referees for two headlines whose estimator is a Student-t interval over seeds on their own scale (README
"Headlines and their referee tests"): the random-label memorization ratio (overfitting; Zhang et al. 2017's
(train accuracy − chance)/(1 − chance), logit scale of its bounds) and the price of interpretability
(interpretability; network − tuned interpretable model's test accuracy, paired by seed). Each is driven through the
study's own function on simulated trials with a known answer, both directions, checking point and coverage."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from dl_drawbacks.studies.interpretability.summaries import price_summary
from dl_drawbacks.studies.overfitting.generalization import memorization

SEEDS, CHANCE = 3, 0.1


def _memorization(train_acc: np.ndarray) -> dict:
    t = pl.DataFrame({
        "trial_id": [f"r{i}" for i in range(len(train_acc))], "seed": list(range(len(train_acc))), "random_labels": [1.0] * len(train_acc),
        "label_noise": [0.0] * len(train_acc), "width": [64] * len(train_acc), "depth": [2] * len(train_acc),
        "n_train": [512] * len(train_acc), "epochs": [60] * len(train_acc), "regularizer": [None] * len(train_acc),
        "n_classes": [10] * len(train_acc), "final_accuracy_train": train_acc.tolist(),
        "epochs_to_fit": [30.0] * len(train_acc), "epochs_run": [60] * len(train_acc),
        "model_family": ["mlp"] * len(train_acc), "shuffle_pixels": [0.0] * len(train_acc)})
    return memorization(t, {}, SimpleNamespace(level=0.95, resamples=50, seed=0))["conditions"][0]["memorization_ratio"]


def _memorization_referee(true_ratio: float, reps: int) -> tuple[float, float]:
    """Per seed, train accuracy on 512 random labels: a binomial draw around the true rate, plus seed spread."""
    rng, covered, points = np.random.default_rng(7), 0, []
    p = CHANCE + true_ratio * (1 - CHANCE)
    for _ in range(reps):
        acc = rng.binomial(512, np.clip(p + rng.normal(0, 0.01, SEEDS), 0, 1)) / 512
        iv = _memorization(acc)
        truth = true_ratio  # the expected ratio of this design (the seed spread is symmetric around p)
        covered += iv["low"] <= truth <= iv["high"]
        points.append(iv["estimate"])
    return covered / reps, float(np.mean(points))


@pytest.mark.parametrize("true_ratio", [0.95, 0.05])  # memorized / not memorized
def test_memorization_ratio_point_and_coverage(true_ratio):
    coverage, point = _memorization_referee(true_ratio, 60)
    assert point == pytest.approx(true_ratio, abs=0.02)
    assert coverage >= 0.85


def _price(gap: float, rng) -> dict:
    net = np.clip(0.9 + rng.normal(0, 0.01, SEEDS), 0, 1)
    interp = np.clip(net - gap + rng.normal(0, 0.01, SEEDS), 0, 1)
    ids = [f"t{i}" for i in range(SEEDS)]
    clean = pl.DataFrame({"trial_id": ids, "network_accuracy_test": net.tolist()})
    rows = pl.DataFrame({"trial_id": ids, "metric": ["interpretable_accuracy"] * SEEDS, "split": ["test"] * SEEDS,
                         "group": ["logistic_regression"] * SEEDS, "value": interp.tolist()})
    return price_summary(rows, clean, 0.95)["models"]["logistic_regression"]["gap"]


@pytest.mark.parametrize("gap", [0.1, 0.0])  # the network is better / no price
def test_price_of_interpretability_point_and_coverage(gap):
    rng, covered, points, excludes_zero = np.random.default_rng(11), 0, [], 0
    for _ in range(60):
        iv = _price(gap, rng)
        covered += iv["low"] <= gap <= iv["high"]
        excludes_zero += not iv["low"] <= 0 <= iv["high"]
        points.append(iv["estimate"])
    assert np.mean(points) == pytest.approx(gap, abs=0.005)
    assert covered / 60 >= 0.88
    assert excludes_zero / 60 >= 0.9 if gap else excludes_zero / 60 <= 0.12  # found when present, not when absent
