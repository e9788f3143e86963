"""The shared statistics module: known answers, degenerate inputs, and coverage measured by simulation."""

from __future__ import annotations

import numpy as np
import pytest

from dl_drawbacks.statistics import (Interval, bootstrap_interval, nested_interval, resample_test_sets, t_interval,
                                     value_range)


def test_t_interval_matches_the_textbook_formula():
    v = np.array([0.80, 0.82, 0.85])
    iv = t_interval(v)
    half = 4.302653 * v.std(ddof=1) / np.sqrt(3)  # t(0.975, 2)
    assert iv.estimate == pytest.approx(v.mean())
    assert iv.high - iv.estimate == pytest.approx(half, rel=1e-5)
    assert iv.method == "student-t" and iv.n == {"seeds": 3} and iv.level == 0.95


def test_degenerate_inputs_say_why():
    assert t_interval([0.5]).reason.startswith("one value") and not t_interval([0.5]).defined
    assert t_interval([float("nan")]).reason == "no finite values"
    assert nested_interval([]).reason == "no seed has test samples"
    one = nested_interval([np.ones(50)])
    assert one.reason.startswith("one seed") and one.low == one.high == 1.0
    undefined = nested_interval([np.zeros(10), np.ones(10)], statistic=lambda s: float("nan"))
    assert not undefined.defined and "undefined for 2 of 2" in undefined.reason
    assert bootstrap_interval([3.0, 3.0, 3.0]).reason == "every value is the same"


def test_range_is_not_an_interval():
    r = value_range([3.0, 1.0, 2.0], over="model sizes")
    assert (r.low, r.high, r.n) == (1.0, 3.0, 3) and r.to_dict()["kind"] == "range"
    assert not isinstance(r, Interval)


def test_bootstrap_interval_is_scipy_bca_and_falls_back_to_percentile():
    rng = np.random.default_rng(0)
    v = rng.normal(2.0, 1.0, 200)
    iv = bootstrap_interval(v, seed=1)
    assert iv.method == "bootstrap-bca" and iv.low < 2.0 < iv.high
    assert iv.high - iv.low == pytest.approx(2 * 1.96 / np.sqrt(200), rel=0.25)


def test_paired_resampling_uses_one_index_set_for_every_seed():
    a = np.arange(100.0)
    reps = resample_test_sets([a, a], n_resamples=200, seed=3)
    same = resample_test_sets([a], n_resamples=200, seed=3)
    assert np.allclose(reps, same)  # identical seeds on one shared test set: no extra averaging


def _simulated_coverage(make_interval, *, n_sims: int, k: int, n_test: int, seed_sd: float, rng) -> float:
    """Share of simulations whose interval covers the population accuracy.

    The population: a test item is answered right by a seed when its difficulty u_i ~ U(0, 1) is below
    0.8 + d_s, d_s ~ N(0, seed_sd): seeds make correlated errors, as trained networks do. A simulation
    draws one test set of n_test items shared by k seeds; the population accuracy is 0.8.
    """
    hits = 0
    for _ in range(n_sims):
        u = rng.random(n_test)
        per_seed = [(u < 0.8 + rng.normal(0, seed_sd)).astype(float) for _ in range(k)]
        iv = make_interval(per_seed)
        hits += iv.low <= 0.8 <= iv.high
    return hits / n_sims


@pytest.mark.parametrize("seed_sd", [0.0, 0.03])
def test_nested_interval_keeps_its_level_with_three_seeds(seed_sd):
    rng = np.random.default_rng(11)
    cov = _simulated_coverage(lambda ps: nested_interval(ps, n_resamples=300, seed=int(rng.integers(1e9))),
                              n_sims=300, k=3, n_test=300, seed_sd=seed_sd, rng=rng)
    assert 0.91 <= cov <= 0.995, cov


def test_intervals_that_ignore_a_level_undercover():
    """The check above can fail: a t-interval over seeds alone misses the shared test-set noise."""
    rng = np.random.default_rng(5)
    seeds_only = _simulated_coverage(lambda ps: t_interval([s.mean() for s in ps]),
                                     n_sims=300, k=3, n_test=300, seed_sd=0.005, rng=rng)
    assert seeds_only < 0.8, seeds_only


def test_percentile_bootstrap_over_three_seeds_undercovers_where_nested_does_not():
    """Why the nested interval exists: resampling 3 seeds gives intervals far narrower than the truth."""
    rng = np.random.default_rng(8)

    def seed_bootstrap(ps):
        return bootstrap_interval([s.mean() for s in ps], method="percentile", n_resamples=400, over="seeds",
                                  seed=int(rng.integers(1e9)))

    naive = _simulated_coverage(seed_bootstrap, n_sims=300, k=3, n_test=2000, seed_sd=0.05, rng=rng)
    nested = _simulated_coverage(lambda ps: nested_interval(ps, n_resamples=200, seed=int(rng.integers(1e9))),
                                 n_sims=300, k=3, n_test=2000, seed_sd=0.05, rng=rng)
    assert naive < 0.85 < 0.91 <= nested, (naive, nested)


def test_a_statistic_that_is_nan_on_resamples_is_undefined_not_a_recursion():
    def fragile(v):
        return float("nan") if len(set(np.round(v, 6))) < len(v) else float(np.mean(v))

    iv = bootstrap_interval([0.1, 0.5, 0.9, 1.3], fragile, n_resamples=200)
    assert not iv.defined and iv.reason == "the statistic is not finite on some resamples"


def _near_bound_sims(n_sims: int, rng: np.random.Generator) -> list[list[np.ndarray]]:
    """3 seeds × 40 shared test items answered right with probability ~0.95 (seed effects on the logit scale)."""
    sims = []
    for _ in range(n_sims):
        u = rng.random(40)
        sims.append([(u < 1 / (1 + np.exp(-(np.log(19) + rng.normal(0, 0.8))))).astype(float) for _ in range(3)])
    return sims


def test_bounded_intervals_stay_inside_their_bounds_and_keep_their_level():
    """A rate near 1 with 3 seeds: the plain interval leaves [0, 1]; the logit-scale one never does."""
    rng = np.random.default_rng(21)
    sims = _near_bound_sims(200, rng)
    plain = [nested_interval(ps, n_resamples=200, seed=i) for i, ps in enumerate(sims)]
    bounded = [nested_interval(ps, n_resamples=200, seed=i, bounds=(0.0, 1.0)) for i, ps in enumerate(sims)]
    assert sum(iv.high > 1 for iv in plain if iv.defined) >= 20  # the failure the bounds exist for
    defined = [iv for iv in bounded if iv.defined]
    assert defined and all(0 <= iv.low <= iv.estimate <= iv.high <= 1 for iv in defined)
    assert all(b.estimate == p.estimate for b, p in zip(bounded, plain))
    assert "logit scale" in defined[0].method
    truth = np.mean([1 / (1 + np.exp(-(np.log(19) + rng.normal(0, 0.8)))) for _ in range(200_000)])
    coverage = np.mean([iv.low <= truth <= iv.high for iv in defined])
    assert coverage >= 0.9, coverage


def test_bounded_t_interval_is_asymmetric_near_a_bound_and_plain_in_the_middle():
    near = t_interval([0.97, 0.99, 0.93], bounds=(0.0, 1.0))
    assert near.high < 1 and near.high - near.estimate < near.estimate - near.low
    middle, plain = t_interval([0.49, 0.51, 0.50], bounds=(0.0, 1.0)), t_interval([0.49, 0.51, 0.50])
    assert middle.low == pytest.approx(plain.low, abs=1e-3) and middle.high == pytest.approx(plain.high, abs=1e-3)
    at_bound = t_interval([1.0, 1.0, 1.0], bounds=(0.0, 1.0))
    assert at_bound.low == at_bound.high == 1.0 and "no spread" in at_bound.reason
    assert t_interval([0.4, 0.5, 0.6]).reason is None
