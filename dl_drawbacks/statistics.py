"""The one statistics module every study uses: intervals that say what they are over.

- ``t_interval``: Student-t over per-seed values (exact for normal seed effects; wide with few seeds).
- ``bootstrap_interval``: ``scipy.stats.bootstrap`` (BCa or percentile, stated) over one level of units.
- ``nested_interval``: two levels, seeds and the test samples each seed was scored on. Test samples are
  resampled (the same indices for every seed when they share one test set) to measure test-set noise;
  seed-to-seed variation gets a Student-t treatment, and the two variance components are combined with
  Welch-Satterthwaite degrees of freedom. A percentile bootstrap over 3 seeds covers a nominal 95% only
  ~78% of the time (tests/test_statistics.py measures it); this interval keeps its level with 3 seeds.
  (Variance components of multi-level resampling: Davison & Hinkley 1997 §3.8; Saravanan et al. 2020.)
- ``value_range``: a min-max, labelled a range, never an interval.
- ``bounds``: a statistic that lives in [a, b] (a rate, an accuracy) gets its t interval on the logit
  scale of (x − a)/(b − a) (delta method: se_logit = se / (p(1 − p))), mapped back: the interval stays
  inside [a, b] and is asymmetric near a bound, as the logit (Wald) interval of a proportion is
  (Agresti & Coull 1998; Brown, Cai & DasGupta 2001 on why the plain Wald interval fails near 0 and 1).

Every result says its method, level, n and what it is over; a degenerate input (no values, one seed
without samples, a constant statistic) gives an interval with ``low``/``high`` None and its ``reason``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
from scipy import special, stats

Statistic = Callable[[np.ndarray], float]


@dataclass(frozen=True)
class Interval:
    """A confidence interval: ``estimate`` in [``low``, ``high``] at ``level``, over ``over`` (``n`` of each)."""

    estimate: float | None
    low: float | None
    high: float | None
    method: str
    level: float
    over: str
    n: dict[str, int] = field(default_factory=dict)
    reason: str | None = None  # why low/high are missing, or a caveat the reader must see

    @property
    def defined(self) -> bool:
        return self.low is not None and self.high is not None

    def contains(self, value: float) -> bool | None:
        """Whether ``value`` lies inside; None when the interval is not defined."""
        return None if not self.defined else bool(self.low <= value <= self.high)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "interval", **asdict(self)}

    def describe(self) -> str:
        """'95% nested (t over 3 seeds + bootstrap over 449 test samples)'."""
        counts = " × ".join(f"{v} {k.replace('_', ' ')}" for k, v in self.n.items())
        return f"{self.level:.0%} {self.method} over {counts or self.over}"


@dataclass(frozen=True)
class Range:
    """The smallest and largest value: a range, not an interval."""

    low: float | None
    high: float | None
    over: str
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "range", **asdict(self)}


def _finite(values: Any) -> np.ndarray:
    v = np.asarray(values, dtype=float).reshape(-1)
    return v[np.isfinite(v)]


def _undefined(
    estimate: float | None, method: str, level: float, over: str, n: dict[str, int], reason: str
) -> Interval:
    return Interval(estimate, None, None, method, level, over, n, reason)


def value_range(values: Any, *, over: str) -> Range:
    v = _finite(values)
    return Range(float(v.min()) if v.size else None, float(v.max()) if v.size else None, over, int(v.size))


Bounds = tuple[float, float] | None


def _t_bounds(estimate: float, se: float, df: float, level: float, bounds: Bounds) -> tuple[float, float, str]:
    """(low, high, method suffix) of estimate ± t·se, on the logit scale when ``bounds`` are given."""
    t = float(stats.t.ppf((1 + level) / 2, df))
    if bounds is None:
        return estimate - t * se, estimate + t * se, ""
    a, b = bounds
    p = (estimate - a) / (b - a)
    if not 0 < p < 1:  # every value at a bound: no logit; the plain interval is clipped to the bounds
        return max(a, estimate - t * se), min(b, estimate + t * se), ", clipped to its bounds"
    z, se_z = math.log(p / (1 - p)), se / ((b - a) * p * (1 - p))
    low, high = (a + (b - a) * float(special.expit(v)) for v in (z - t * se_z, z + t * se_z))
    return low, high, ", logit scale"


def t_interval(values: Any, *, level: float = 0.95, over: str = "seeds", bounds: Bounds = None) -> Interval:
    """Student-t interval of the mean of ``values`` (one per seed, say); ``bounds``: see the module docstring."""
    v = _finite(values)
    n = {over.replace(" ", "_"): int(v.size)}
    if v.size == 0:
        return _undefined(None, "student-t", level, over, n, "no finite values")
    mean = float(v.mean())
    if v.size < 2:
        return _undefined(mean, "student-t", level, over, n, f"one value: no spread over {over} to measure")
    low, high, scale = _t_bounds(mean, float(v.std(ddof=1) / math.sqrt(v.size)), v.size - 1, level, bounds)
    flat = f"all {v.size} values equal: no spread over {over} (zero width, not certainty)" if low == high else None
    return Interval(mean, low, high, "student-t" + scale, level, over, n, flat)


def bootstrap_interval(
    values: Any,
    statistic: Statistic = np.mean,
    *,
    level: float = 0.95,
    method: str = "BCa",
    n_resamples: int = 2000,
    seed: int = 0,
    over: str = "samples",
) -> Interval:
    """``scipy.stats.bootstrap`` of ``statistic`` over one level of units (BCa or percentile)."""
    v = _finite(values)
    name = f"bootstrap-{method.lower()}"
    n = {over.replace(" ", "_"): int(v.size)}
    if v.size < 2:
        return _undefined(
            float(statistic(v)) if v.size else None, name, level, over, n, f"{v.size} value(s): nothing to resample"
        )
    estimate = float(statistic(v))
    if np.ptp(v) == 0:
        return Interval(estimate, estimate, estimate, name, level, over, n, "every value is the same")
    res = stats.bootstrap(
        (v,),
        statistic,
        confidence_level=level,
        n_resamples=n_resamples,
        method=method,
        random_state=np.random.default_rng(seed),
        vectorized=False,
    )
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (math.isfinite(low) and math.isfinite(high)):  # BCa is undefined for some skewed/discrete samples
        if method.lower() == "percentile":
            return _undefined(estimate, name, level, over, n, "the statistic is not finite on some resamples")
        return bootstrap_interval(
            v, statistic, level=level, method="percentile", n_resamples=n_resamples, seed=seed, over=over
        )
    return Interval(estimate, low, high, name, level, over, n)


def _mean_statistic(sample: np.ndarray) -> float:
    return float(np.mean(sample))


def resample_test_sets(
    per_seed: Sequence[np.ndarray],
    statistic: Statistic | None = None,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    paired: bool | None = None,
) -> np.ndarray:
    """Bootstrap replicates of the mean over seeds of ``statistic(seed's test samples)``, seeds held fixed.

    ``paired`` (default: all seeds have the same number of samples) draws one set of test indices per
    replicate for every seed, as when every seed was scored on one shared test set.
    """
    sizes = {len(s) for s in per_seed}
    paired = len(sizes) == 1 if paired is None else paired
    rng = np.random.default_rng(seed)
    if statistic is None:  # the mean of per-sample values: resample with multinomial weights, vectorised
        out = np.zeros(n_resamples)
        shared = (
            rng.multinomial(next(iter(sizes)), np.full(next(iter(sizes)), 1 / next(iter(sizes))), n_resamples)
            if paired
            else None
        )
        for s in per_seed:
            w = shared if paired else rng.multinomial(len(s), np.full(len(s), 1 / len(s)), n_resamples)
            out += (w @ np.asarray(s, dtype=float).reshape(len(s))) / len(s)
        return out / len(per_seed)
    out = np.empty(n_resamples)
    for b in range(n_resamples):
        idx = rng.integers(0, next(iter(sizes)), next(iter(sizes))) if paired else None
        vals = [statistic(s[idx if paired else rng.integers(0, len(s), len(s))]) for s in per_seed]
        out[b] = np.mean(vals)
    return out


def nested_interval(
    per_seed: Sequence[np.ndarray],
    statistic: Statistic | None = None,
    *,
    level: float = 0.95,
    n_resamples: int = 1000,
    seed: int = 0,
    paired: bool | None = None,
    bounds: Bounds = None,
) -> Interval:
    """Interval of the mean over seeds of a per-seed statistic of its test samples (None: their mean).

    ``per_seed[s]`` holds seed s's test samples (rows: samples; a 2-D array carries several columns,
    e.g. label, prediction and group, for a fairness statistic). The estimate is the mean over seeds
    of ``statistic`` on every sample; its standard error combines the seed component s²/k (Student-t)
    and the test-sample component (the variance of ``resample_test_sets``), with Welch-Satterthwaite
    degrees of freedom. With one seed the interval is the test-sample percentile bootstrap alone,
    and its reason says seed variance was not measured. ``bounds``: see the module docstring.
    """
    stat = statistic or _mean_statistic
    per_seed = [np.asarray(s) for s in per_seed if len(s)]
    k = len(per_seed)
    n = {"seeds": k, "test_samples": int(min((len(s) for s in per_seed), default=0))}
    method, over = "nested (t over seeds + bootstrap over test samples)", "seeds x test samples"
    if k == 0:
        return _undefined(None, method, level, over, n, "no seed has test samples")
    values = np.array([stat(s) for s in per_seed], dtype=float)
    if not np.all(np.isfinite(values)):
        bad = int((~np.isfinite(values)).sum())
        return _undefined(None, method, level, over, n, f"the statistic is undefined for {bad} of {k} seeds")
    estimate = float(values.mean())
    boot = resample_test_sets(per_seed, statistic, n_resamples=n_resamples, seed=seed, paired=paired)
    boot = boot[np.isfinite(boot)]
    var_test = float(boot.var(ddof=1)) if boot.size > 1 else 0.0
    if k == 1:
        low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2]) if boot.size else (estimate, estimate)
        return Interval(
            estimate,
            float(low),
            float(high),
            "bootstrap-percentile over test samples",
            level,
            "test samples",
            n,
            "one seed: seed-to-seed variation is not measured",
        )
    var_seed = float(values.var(ddof=1) / k)
    total = var_seed + var_test
    if total == 0:
        return Interval(estimate, estimate, estimate, method, level, over, n, "no variation over seeds or test samples")
    df = total**2 / (var_seed**2 / (k - 1)) if var_seed > 0 else math.inf  # Welch-Satterthwaite
    low, high, scale = _t_bounds(estimate, math.sqrt(total), df, level, bounds)
    if scale:
        method = method.replace("t over seeds", f"t over seeds{scale}")
    return Interval(estimate, low, high, method, level, over, n)
