"""Referee for the tunability headline (README "Headlines and their referee tests"; Probst, Boulesteix & Bischl
2019's tunability, measured here as the paired fresh-seed test gain of the configuration chosen on validation over
the default). Whole synthetic studies whose accuracy is a known function of the configuration plus per-run noise are
simulated with a replication index in the noise, so the true gain of whatever configuration the search chose is
known: f(chosen) - f(default). Both directions — a space where tuning lr buys ~0.18, and one where nothing matters
(true gain 0) — for the point (mean error) and the coverage of the paired interval over seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dl_drawbacks.studies.hparams.outcomes import trial_outcomes
from dl_drawbacks.studies.hparams.tunability import tunability

from .test_analysis import _noise

SD = 0.01  # per-run noise of the accuracy (shared by validation and test of one run, as one trained model's are)


def peaked(rep: int):
    truth = lambda hp: 0.9 - 0.08 * (math.log10(hp["lr"]) + 1.5) ** 2  # noqa: E731

    def objective(hp, task, seed):
        return truth(hp) + SD * _noise(hp["lr"], hp["dropout"], hp["optimizer"], task, seed, rep)
    return objective, truth


def flat(rep: int):
    truth = lambda hp: 0.7  # noqa: E731

    def objective(hp, task, seed):
        return truth(hp) + SD * _noise(hp["lr"], hp["dropout"], hp["optimizer"], task, seed, rep)
    return objective, truth


def _replicate(make, rep: int, synthetic_study) -> tuple[float, float, dict]:
    objective, truth = make(rep)
    rows, options = synthetic_study(objective)
    t = tunability(trial_outcomes(rows), list(options.search_space), options.seeds, top_k=2)
    o = t["overall"]
    default = {"lr": 0.001, **{k: v for k, v in t["default_config"].items() if k != "lr"}}
    return o["gain"], truth(o["tuned_config"]) - truth(default), o["interval"]


def _referee(make, reps: int, synthetic_study) -> tuple[float, float, float]:
    errors, covered, true_gains = [], 0, []
    for rep in range(reps):
        gain, true_gain, iv = _replicate(make, rep, synthetic_study)
        errors.append(gain - true_gain)
        true_gains.append(true_gain)
        covered += iv["low"] <= true_gain <= iv["high"]
    return covered / reps, float(np.mean(errors)), float(np.mean(true_gains))


@pytest.mark.parametrize("make, gain", [(peaked, 0.15), (flat, 0.0)])
def test_tunability_point_and_interval_fast(make, gain, synthetic_study):
    estimate, true_gain, iv = _replicate(make, 0, synthetic_study)
    assert estimate == pytest.approx(true_gain, abs=4 * SD)
    assert iv["low"] <= true_gain <= iv["high"]
    assert true_gain >= gain if gain else true_gain == 0.0


@pytest.mark.slow
@pytest.mark.parametrize("make", [peaked, flat])
def test_tunability_interval_keeps_its_level(make, synthetic_study):
    coverage, bias, true_gain = _referee(make, 20, synthetic_study)
    assert coverage >= 0.85  # nominal 95%, t over 3 paired seeds
    assert abs(bias) <= SD  # no winner's curse: chosen on validation of the search seed, scored on fresh seeds
    assert true_gain > 0.1 if make is peaked else true_gain == 0.0
