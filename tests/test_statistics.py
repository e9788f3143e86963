"""The shared statistics module: known answers, degenerate inputs, and coverage measured by simulation."""

from __future__ import annotations

import numpy as np
import pytest

from dl_drawbacks.statistics import (MIN_BOOTSTRAP_UNITS, POSITIVE, REAL, UNIT, Domain, Interval, bootstrap_interval,
                                     domain_violation, domain_violations, nested_interval, resample_test_sets,
                                     t_interval, value_range)


def test_t_interval_matches_the_textbook_formula():
    v = np.array([0.80, 0.82, 0.85])
    iv = t_interval(v, domain=REAL)
    half = 4.302653 * v.std(ddof=1) / np.sqrt(3)  # t(0.975, 2)
    assert iv.estimate == pytest.approx(v.mean())
    assert iv.high - iv.estimate == pytest.approx(half, rel=1e-5)
    assert iv.method == "student-t" and iv.n == {"seeds": 3} and iv.level == 0.95 and iv.domain == "real"


def test_degenerate_inputs_say_why():
    assert t_interval([0.5], domain=UNIT).reason.startswith("one value") and not t_interval([0.5], domain=UNIT).defined
    assert t_interval([float("nan")], domain=REAL).reason == "no finite values"
    assert nested_interval([], domain=UNIT).reason == "no seed has test samples"
    one = nested_interval([np.ones(50)], domain=UNIT)
    assert one.reason.startswith("one seed") and one.low == one.high == 1.0
    undefined = nested_interval([np.zeros(10), np.ones(10)], statistic=lambda s: float("nan"), domain=REAL)
    assert not undefined.defined and "undefined for 2 of 2" in undefined.reason
    flat = bootstrap_interval([3.0] * 12, domain=POSITIVE)
    assert flat.low == flat.high == 3.0 and "zero width, not certainty" in flat.reason
    assert t_interval([0.2, -0.1], domain=POSITIVE).reason == "1 value(s) outside the domain positive"


def test_range_is_not_an_interval():
    r = value_range([3.0, 1.0, 2.0], over="model sizes")
    assert (r.low, r.high, r.n) == (1.0, 3.0, 3) and r.to_dict()["kind"] == "range"
    assert not isinstance(r, Interval)


def test_bootstrap_interval_is_scipy_bca_and_falls_back_to_percentile():
    rng = np.random.default_rng(0)
    v = rng.normal(2.0, 1.0, 200)
    iv = bootstrap_interval(v, seed=1, domain=REAL)
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
    cov = _simulated_coverage(lambda ps: nested_interval(ps, n_resamples=300, seed=int(rng.integers(1e9)), domain=REAL),
                              n_sims=300, k=3, n_test=300, seed_sd=seed_sd, rng=rng)
    assert 0.91 <= cov <= 0.995, cov


def test_intervals_that_ignore_a_level_undercover():
    """The check above can fail: a t-interval over seeds alone misses the shared test-set noise."""
    rng = np.random.default_rng(5)
    seeds_only = _simulated_coverage(lambda ps: t_interval([s.mean() for s in ps], domain=REAL),
                                     n_sims=300, k=3, n_test=300, seed_sd=0.005, rng=rng)
    assert seeds_only < 0.8, seeds_only


def _percentile_over(values: np.ndarray, rng: np.random.Generator, level: float = 0.95) -> tuple[float, float]:
    """A bare percentile bootstrap of the mean (what ``bootstrap_interval`` now refuses below 10 units)."""
    idx = rng.integers(0, len(values), (400, len(values)))
    return tuple(np.quantile(values[idx].mean(axis=1), [(1 - level) / 2, (1 + level) / 2]))


def test_percentile_bootstrap_over_three_seeds_undercovers_where_nested_does_not():
    """Why the nested interval exists: resampling 3 seeds gives intervals far narrower than the truth."""
    rng = np.random.default_rng(8)

    def seed_bootstrap(ps):
        low, high = _percentile_over(np.array([s.mean() for s in ps]), rng)
        return Interval(None, low, high, "bootstrap-percentile", 0.95, "seeds")

    naive = _simulated_coverage(seed_bootstrap, n_sims=300, k=3, n_test=2000, seed_sd=0.05, rng=rng)
    nested = _simulated_coverage(lambda ps: nested_interval(ps, n_resamples=200, seed=int(rng.integers(1e9)),
                                                            domain=REAL),
                                 n_sims=300, k=3, n_test=2000, seed_sd=0.05, rng=rng)
    assert naive < 0.85 < 0.91 <= nested, (naive, nested)


def test_a_statistic_that_is_nan_on_resamples_is_undefined_not_a_recursion():
    def fragile(v):
        return float("nan") if len(set(np.round(v, 6))) < len(v) else float(np.mean(v))

    iv = bootstrap_interval(np.linspace(0.1, 1.3, 12), fragile, n_resamples=200, domain=REAL)
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
    plain = [nested_interval(ps, n_resamples=200, seed=i, domain=REAL) for i, ps in enumerate(sims)]
    bounded = [nested_interval(ps, n_resamples=200, seed=i, domain=UNIT) for i, ps in enumerate(sims)]
    assert sum(iv.high > 1 for iv in plain if iv.defined) >= 20  # the failure the bounds exist for
    defined = [iv for iv in bounded if iv.defined]
    assert defined and all(0 <= iv.low <= iv.estimate <= iv.high <= 1 for iv in defined)
    assert all(b.estimate == p.estimate for b, p in zip(bounded, plain))
    assert "logit scale" in defined[0].method
    truth = np.mean([1 / (1 + np.exp(-(np.log(19) + rng.normal(0, 0.8)))) for _ in range(200_000)])
    coverage = np.mean([iv.low <= truth <= iv.high for iv in defined])
    assert coverage >= 0.9, coverage


def test_bounded_t_interval_is_asymmetric_near_a_bound_and_plain_in_the_middle():
    near = t_interval([0.97, 0.99, 0.93], domain=UNIT)
    assert near.high < 1 and near.high - near.estimate < near.estimate - near.low
    middle, plain = t_interval([0.49, 0.51, 0.50], domain=UNIT), t_interval([0.49, 0.51, 0.50], domain=REAL)
    assert middle.low == pytest.approx(plain.low, abs=1e-3) and middle.high == pytest.approx(plain.high, abs=1e-3)
    at_bound = t_interval([1.0, 1.0, 1.0], domain=UNIT)
    assert at_bound.low == at_bound.high == 1.0 and "no spread" in at_bound.reason
    assert t_interval([0.4, 0.5, 0.6], domain=UNIT).reason is None


def test_every_interval_declares_its_domain_and_the_check_reads_it():
    assert Domain.parse("positive") is POSITIVE and Domain.parse("[0, 1]") == UNIT and Domain.parse("real") is REAL
    assert not POSITIVE.contains(0.0) and UNIT.contains(1.0) and not UNIT.contains(1.01)
    assert domain_violation(t_interval([1.0, 2.0, 3.0], domain=POSITIVE).to_dict()) is None
    assert domain_violation({"low": 1.0, "high": 2.0}) == "declares no domain"
    planted = {"step_time_s": {"kind": "interval", "low": -14.0, "high": 93.8, "domain": "positive"}}
    assert domain_violations(planted) == ["step_time_s: low end -14 lies outside its domain positive"]
    assert domain_violations({"fit": {"interval": [0.1, 2.0], "domain": "positive"}}) == []
    assert domain_violations({"range": {"kind": "range", "low": -1, "high": 1}}) == []


def test_positive_quantity_gets_the_geometric_mean_and_the_t_interval_of_its_logs():
    """Known answer: exp(mean(log v) ± t(0.975, 2)·sd(log v)/√3) around the geometric mean."""
    v = np.array([0.0399, 0.012, 0.081])  # step times of three seeds, skewed as timings are
    iv = t_interval(v, domain=POSITIVE)
    z = np.log(v)
    half = 4.302653 * z.std(ddof=1) / np.sqrt(3)
    assert iv.estimate == pytest.approx(np.exp(z.mean()))
    assert (iv.low, iv.high) == pytest.approx((np.exp(z.mean() - half), np.exp(z.mean() + half)), rel=1e-5)
    assert iv.low > 0 and "log scale" in iv.method and iv.domain == "positive"
    assert t_interval(v, domain=REAL).low < 0  # the symmetric interval the log scale replaces


def test_log_scale_interval_covers_the_geometric_mean_where_the_symmetric_one_leaves_the_domain():
    """Three seeds of a log-normal time (median 1, sd of logs 0.8): the log-scale t interval covers the median
    at its level and never ends below 0; the plain interval often does."""
    rng = np.random.default_rng(4)
    sims = [np.exp(rng.normal(0.0, 0.8, 3)) for _ in range(400)]
    logs = [t_interval(v, domain=POSITIVE) for v in sims]
    plain = [t_interval(v, domain=REAL) for v in sims]
    coverage = np.mean([iv.low <= 1.0 <= iv.high for iv in logs])
    assert 0.92 <= coverage <= 0.98, coverage
    assert all(iv.low > 0 for iv in logs)
    assert np.mean([iv.low < 0 for iv in plain]) > 0.3


def test_log_ratio_of_paired_times_is_symmetric_in_which_run_is_the_baseline():
    a, b = np.array([1.2, 1.5, 0.9]), np.array([1.0, 1.1, 1.0])
    ab, ba = t_interval(a / b, domain=POSITIVE), t_interval(b / a, domain=POSITIVE)
    assert ab.estimate == pytest.approx(1 / ba.estimate)
    assert (ab.low, ab.high) == pytest.approx((1 / ba.high, 1 / ba.low))


def test_a_bootstrap_over_fewer_than_ten_units_is_refused():
    small = bootstrap_interval([0.2, 0.5, 0.4, 0.9, 0.7, 0.3], domain=UNIT, over="configurations")
    assert not small.defined and small.estimate == pytest.approx(0.5)
    needs = f"(a bootstrap interval needs at least {MIN_BOOTSTRAP_UNITS})"
    assert small.reason == f"not measurable: 6 configurations {needs}"
    assert bootstrap_interval(np.linspace(0, 1, MIN_BOOTSTRAP_UNITS), domain=UNIT).defined


def test_why_the_refusal_bca_over_five_units_undercovers_and_over_forty_keeps_its_level():
    """The refusal's evidence: a bootstrap of the mean of 5 normal units covers far below 95%; with 40 it keeps it."""
    rng = np.random.default_rng(12)
    few = np.mean([lo <= 0 <= hi for lo, hi in (_percentile_over(rng.normal(0, 1, 5), rng) for _ in range(400))])
    many = np.mean([bootstrap_interval(rng.normal(0, 1, 40), domain=REAL, n_resamples=400,
                                       seed=int(rng.integers(1e9))).contains(0.0) for _ in range(150)])
    assert few < 0.87 and many >= 0.89, (few, many)


def test_nested_interval_of_a_positive_statistic_stays_above_zero():
    rng = np.random.default_rng(2)
    per_seed = [rng.exponential(0.01, 60) for _ in range(3)]
    iv = nested_interval(per_seed, domain=POSITIVE, n_resamples=200)
    assert iv.low > 0 and iv.high > iv.estimate and "log scale" in iv.method
