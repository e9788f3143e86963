"""Learning-curve fits recover known exponents with intervals over seeds × test samples; bound-hitting
fits are flagged; data-to-target on known curves; a simulated coverage check of the interval."""

from __future__ import annotations

import numpy as np
import pytest

from dl_drawbacks.studies.data.anchors import Curve, replicate_means, resampling_weights
from dl_drawbacks.studies.data.curves import FAMILIES, at_bound, fit_family, n_to_reach
from dl_drawbacks.studies.data.learning_curves import LearningCurveFit

from .synthetic import ANCHORS, curve, pow3


def _fit(c: Curve, **kw) -> LearningCurveFit:
    kw.setdefault("n_bootstrap", 60)
    return LearningCurveFit(**kw).fit(c, weights=resampling_weights(c.test_size, kw["n_bootstrap"]))


@pytest.mark.parametrize("b", [0.6, 0.9])
def test_pow3_exponent_recovered_with_interval(b):
    c = curve(lambda n: pow3(n, 3.0, b, 0.03), test_size=4000, seed_sd=0.03)
    e = _fit(c, families=("pow3",)).exponent()
    assert e["available"] and e["family"] == "pow3"
    assert e["b"] == pytest.approx(b, abs=0.15)
    assert e["interval"]["low"] <= b <= e["interval"]["high"] and e["interval"]["over"] == "seeds x test samples"


def test_at_bound_names_the_parameter():
    assert at_bound(FAMILIES["mmf4"], np.array([0.5, 10.0, 4e-20, 1.0])) == ["c = 4e-20 at its lower bound 0"]
    assert at_bound(FAMILIES["pow3"], np.array([2.0, 0.5, 0.03])) == []


def test_fit_at_a_bound_is_degenerate_not_passed():
    c = curve(lambda n: 5.0 * n ** -0.7, seed_sd=0.03)  # true asymptote 0: pow3's c is pushed onto its bound
    fit = _fit(c, families=("pow2", "pow3"))
    a = fit.assessment_["pow3"]
    if a["at_bound"]:
        assert not a["passes"] and a["why"].startswith("degenerate: c = ")
        assert "pow3" not in fit.passing_ and fit.exponent()["family"] == "pow2"
    assert "pow2" in fit.passing_


def test_no_passing_family_refuses_with_reason():
    c = curve(lambda n: pow3(n, 3.0, 0.6, 0.03))
    fit = _fit(c, families=("pow3",), holdout_tolerance=0.0)
    fit.assessment_["pow3"]["passes"] = False  # what a failing held-out check leaves
    fit.passing_ = []
    assert any("no curve family passes" in r for r in fit._refusals())


def test_data_to_target_median_interval_unreachable_and_extrapolated():
    truth = lambda n: pow3(n, 2.0, 0.6, 0.02)  # noqa: E731
    fit = _fit(curve(truth, test_size=4000, seed_sd=0.03), families=("pow3", "pow4"))
    true_n = (2.0 / (0.035 - 0.02)) ** (1 / 0.6)  # beyond the largest anchor 1024
    t = fit.data_to_reach(0.035)
    assert t["available"] and t["provenance"] == "extrapolated"
    assert t["interval"][0] <= true_n <= (t["interval"][1] or np.inf)
    assert t["median"] == pytest.approx(true_n, rel=0.5)
    assert set(t["per_family_point"]) == set(fit.passing_) and t["family_spread"]["kind"] == "range"
    below = fit.data_to_reach(0.005)  # under the asymptote
    assert below["p_unreachable"] > 0.9


def test_n_to_reach_matches_closed_form():
    p = np.array([3.0, 0.5, 0.01])
    assert n_to_reach(FAMILIES["pow3"], p, 0.11, n_min=1, n_cap=1e9) == pytest.approx((3.0 / 0.1) ** 2, rel=1e-6)


def test_non_monotone_and_too_few_anchors_are_refused():
    rng = np.random.default_rng(0)
    n = np.repeat(ANCHORS, 4)
    y = pow3(n, 2.0, 0.6, 0.05) + rng.normal(0, 0.002, n.size)
    y[n == 512] += 0.2
    fit = LearningCurveFit(n_bootstrap=30).fit(Curve.from_errors(n, np.tile(np.arange(4), len(ANCHORS)), y))
    assert not fit.extrapolation_allowed_ and any("non-monotone" in r for r in fit.reasons_)
    assert not fit.data_to_reach(0.08)["available"]
    few = curve(lambda m: pow3(m, 2.0, 0.6, 0.05), anchors=ANCHORS[:4])
    assert any("anchors" in r for r in LearningCurveFit(n_bootstrap=30).fit(few).reasons_)


def test_one_seed_is_refused_not_crashed():
    fit = _fit(curve(lambda n: pow3(n, 2.0, 0.6, 0.05), seeds=1))
    assert any("fewer than 2 seeds" in r for r in fit.reasons_)
    assert fit.summary()["extrapolation_allowed"] is False


def test_replicates_carry_test_set_noise():
    """With identical seeds, replicate spread is the test-set binomial noise sqrt(e(1-e)/T)."""
    c = curve(lambda n: np.full_like(n, 0.1, dtype=float), seeds=3, seed_sd=0.0)
    reps = replicate_means(c, resampling_weights(c.test_size, 2000), n_resamples=2000)
    e = c.means[0]
    assert reps[:, 0].std() == pytest.approx(np.sqrt(e * (1 - e) / c.test_size), rel=0.1)


def _old_seed_bootstrap_covers(c: Curve, b: float, rng) -> bool:
    """The interval this study used before: percentile bootstrap over seeds per anchor, no test-set noise."""
    start = fit_family(FAMILIES["pow3"], c.anchors, c.means)
    draws = [fit_family(FAMILIES["pow3"], c.anchors, np.array([e[rng.integers(0, len(e), len(e))].mean() for e in c.errors]),
                        start=start, only_start=True) for _ in range(100)]
    bs = np.array([d[1] for d in draws if d is not None])
    lo, hi = np.quantile(bs, [0.025, 0.975])
    return bool(lo <= b <= hi)


def _coverage(reps: int, *, seeds: int) -> tuple[float, float]:
    """Coverage of the intervals given (an exponent whose family fails its own held-out test is refused, and
    pow3 is the true family here, so that is rare: at most a quarter of the replications)."""
    b, new, old, given = 0.6, 0, 0, 0
    for r in range(reps):
        c = curve(lambda n: pow3(n, 3.0, b, 0.02), seeds=seeds, rng_seed=100 + r)
        e = LearningCurveFit(families=("pow3",), n_bootstrap=100, random_state=r).fit(
            c, weights=resampling_weights(c.test_size, 100, seed=r)).exponent()
        if not e["available"]:
            assert "failed its own held-out test" in e["reason"]
            continue
        given += 1
        iv = e["interval"]
        new += iv["low"] is not None and iv["low"] <= b <= iv["high"]
        old += _old_seed_bootstrap_covers(c, b, np.random.default_rng(r))
    assert given >= 0.75 * reps, given
    return new / given, old / given


def test_interval_covers_the_true_exponent_fast():
    new, _ = _coverage(8, seeds=3)
    assert new >= 0.75


@pytest.mark.slow
def test_interval_coverage_simulated_against_the_old_seed_bootstrap():
    """Nominal 95%: ours keeps ≥ 0.88 with 3 seeds on a shared 449-sample test set; the old one does not."""
    new, old = _coverage(40, seeds=3)
    assert new >= 0.88
    assert old <= 0.85 and old < new - 0.1
