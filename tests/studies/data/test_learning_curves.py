"""Learning-curve fits recover known exponents; refusal flags; data-to-target and crossover on known curves."""

from __future__ import annotations

import numpy as np
import pytest

from dl_drawbacks.studies.data.learning_curves import FAMILIES, LearningCurveFit, crossover, n_to_reach

ANCHORS = 2 ** np.arange(4, 12)


def synthetic(a: float, b: float, c: float, *, seeds: int = 4, noise: float = 0.002, rng_seed: int = 0):
    rng = np.random.default_rng(rng_seed)
    n = np.repeat(ANCHORS, seeds)
    s = np.tile(np.arange(seeds), len(ANCHORS))
    return n, s, c + a * n ** -b + rng.normal(0, noise, len(n))


@pytest.mark.parametrize("b", [0.3, 0.6, 1.0])
def test_pow3_exponent_recovered_with_interval(b):
    fit = LearningCurveFit(n_bootstrap=60).fit(*synthetic(2.0, b, 0.05))
    e = fit.exponent()
    assert e["b"] == pytest.approx(b, abs=0.08)
    assert e["interval95"][0] <= b + 0.03 and e["interval95"][1] >= b - 0.03
    assert fit.extrapolation_allowed_


def test_selection_prefers_generating_family_and_data_to_target():
    fit = LearningCurveFit(n_bootstrap=60).fit(*synthetic(2.0, 0.6, 0.05, noise=0.0005))
    assert fit.family_ in ("pow3", "pow4")  # pow4 contains pow3 (d = 0)
    true_n = (2.0 / (0.08 - 0.05)) ** (1 / 0.6)  # invert c + a n^-b = target
    t = fit.data_to_reach(0.08)
    assert t["median"] == pytest.approx(true_n, rel=0.15)
    assert t["interval90"][0] <= t["median"] <= t["interval90"][1]
    assert t["p_unreachable"] == 0.0
    below = fit.data_to_reach(0.02)  # under the asymptote c = 0.05
    assert below["p_unreachable"] == 1.0 and below["median"] is None


def test_n_to_reach_matches_closed_form():
    p = np.array([3.0, 0.5, 0.01])
    assert n_to_reach(FAMILIES["pow3"], p, 0.11, n_min=1, n_cap=1e9) == pytest.approx((3.0 / 0.1) ** 2, rel=1e-6)


def test_non_monotone_and_too_few_anchors_are_refused():
    n, s, y = synthetic(2.0, 0.6, 0.05)
    y = y.copy()
    y[n == 512] += 0.2  # error jumps up at one anchor
    fit = LearningCurveFit(n_bootstrap=30).fit(n, s, y)
    assert not fit.extrapolation_allowed_ and any("non-monotone" in r for r in fit.reasons_)
    assert fit.data_to_reach(0.08)["refused"]
    few = LearningCurveFit(n_bootstrap=30, min_anchors=5).fit(*(v[n <= 64] for v in synthetic(2.0, 0.6, 0.05)))
    assert not few.extrapolation_allowed_ and any("anchors" in r for r in few.reasons_)


def test_crossover_of_two_known_curves():
    # DL: 0.02 + 8 n^-0.7; baseline: 0.06 + 1 n^-0.5. They cross where the curves meet.
    n = np.repeat(ANCHORS, 3)
    s = np.tile(np.arange(3), len(ANCHORS))
    rng = np.random.default_rng(1)
    dl = LearningCurveFit(n_bootstrap=40).fit(n, s, 0.02 + 8 * n ** -0.7 + rng.normal(0, 5e-4, len(n)))
    base = LearningCurveFit(n_bootstrap=40).fit(n, s, 0.06 + 1 * n ** -0.5 + rng.normal(0, 5e-4, len(n)))
    grid = np.geomspace(16, 1e6, 100000)
    true_cross = grid[np.argmax(0.02 + 8 * grid ** -0.7 < 0.06 + grid ** -0.5)]
    c = crossover(dl, base)
    assert c["fitted"]["median"] == pytest.approx(true_cross, rel=0.25)
    assert c["observed_crossover_n"] is not None and c["observed_crossover_n"] >= 16
