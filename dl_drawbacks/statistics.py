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

Every interval declares its quantity's ``Domain`` where it is made, and the domain picks the scale:
- ``REAL`` (a difference, a log-ratio): the plain t interval.
- ``bounded(a, b)`` / ``UNIT`` (a rate, an accuracy, a difference of rates): the t interval on the logit
  scale of (x − a)/(b − a) (delta method: se_logit = se / (p(1 − p))), mapped back: the interval stays
  inside [a, b] and is asymmetric near a bound, as the logit (Wald) interval of a proportion is
  (Agresti & Coull 1998; Brown, Cai & DasGupta 2001 on why the plain Wald interval fails near 0 and 1).
- ``POSITIVE`` (times, ratios, costs, energies, MFU, epochs, disparate impact): the log scale. Over
  per-seed values the estimate is the geometric mean and the interval the t interval of the logs mapped
  back (a relative time of paired runs is the t interval of the per-seed log-ratios: Kirkwood 1979 on the
  geometric mean; Limpert, Stahel & Abbt 2001 on log-normal data); a nested interval uses the delta
  method (se_log = se / estimate). ``COUNT`` and ``NONNEGATIVE`` are the log scale when every value is > 0,
  else the plain interval clipped at 0 (said in its method).
A bootstrap needs ``MIN_BOOTSTRAP_UNITS`` resampling units: with fewer it is refused ("not measurable:
n units"), since a BCa/percentile interval over 3-6 units covers far less than its level (measured in
tests/test_statistics.py). ``domain_violation`` says whether an interval's ends lie in its domain; a
property test applies it to every interval of every study's findings.

Every result says its method, level, n, domain and what it is over; a degenerate input (no values, one
seed without samples, a constant statistic) gives an interval with ``low``/``high`` None and its
``reason``; a zero-width interval carries its caveat in ``reason``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

# scipy.stats is imported by the functions that use it: every Ray worker imports this module (through the study
# kinds it registers) and a trial computes no interval.

Statistic = Callable[[np.ndarray], float]
MIN_BOOTSTRAP_UNITS = 10  # below this many resampling units a bootstrap interval is refused


@dataclass(frozen=True)
class Domain:
    """Where a quantity lives: ``low`` ≤ x ≤ ``high`` (``low`` excluded when ``open_low``)."""

    name: str
    low: float
    high: float
    open_low: bool = False

    def __str__(self) -> str:
        return self.name

    def contains(self, x: float) -> bool:
        above = x > self.low if self.open_low else x >= self.low
        return bool(above and x <= self.high)

    @property
    def scale(self) -> str:
        """'plain', 'log' or 'logit': where its t intervals are made."""
        if self.name in ("positive", "count", "nonnegative"):
            return "log"
        return "logit" if math.isfinite(self.low) and math.isfinite(self.high) else "plain"

    @classmethod
    def parse(cls, text: str) -> "Domain":
        """The domain a findings file names: 'real', 'positive', 'count' or '[a, b]'."""
        named = {d.name: d for d in (REAL, POSITIVE, COUNT, NONNEGATIVE)}
        if text in named:
            return named[text]
        a, b = (float(x) for x in text.strip("[]").split(","))
        return bounded(a, b)


def bounded(low: float, high: float) -> Domain:
    """A quantity in [low, high] (a rate in [0, 1], a difference of rates in [-1, 1])."""
    return Domain(f"[{low:g}, {high:g}]", float(low), float(high))


REAL = Domain("real", -math.inf, math.inf)
POSITIVE = Domain("positive", 0.0, math.inf, open_low=True)
COUNT = Domain("count", 0.0, math.inf)
NONNEGATIVE = Domain("nonnegative", 0.0, math.inf)  # a distance, an index ≥ 0 (Theil): log scale when all > 0
UNIT = bounded(0, 1)


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
    domain: str | None = None  # the quantity's Domain (its name); None only on an interval nobody declared

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
    estimate: float | None, method: str, level: float, over: str, n: dict[str, int], reason: str, domain: Domain
) -> Interval:
    return Interval(estimate, None, None, method, level, over, n, reason, str(domain))


def domain_violation(interval: dict[str, Any]) -> str | None:
    """Why an interval (``Interval.to_dict()``) breaks its domain: none declared, or an end outside it."""
    if not interval.get("domain"):
        return "declares no domain"
    domain = Domain.parse(interval["domain"])
    for end in ("low", "high"):
        x = interval.get(end)
        if x is not None and not domain.contains(x):
            return f"{end} end {x:g} lies outside its domain {domain}"
    return None


def zero_width_caveat(n: int, over: str) -> str:
    return f"all {n} values equal: no spread over {over} (zero width, not certainty)"


def value_range(values: Any, *, over: str) -> Range:
    v = _finite(values)
    return Range(float(v.min()) if v.size else None, float(v.max()) if v.size else None, over, int(v.size))


def _t_bounds(estimate: float, se: float, df: float, level: float, domain: Domain) -> tuple[float, float, str]:
    """(low, high, method suffix) of estimate ± t·se on the scale of ``domain`` (see the module docstring)."""
    from scipy import special, stats

    t = float(stats.t.ppf((1 + level) / 2, df))
    if domain.scale == "log":
        if estimate > 0:
            se_z = se / estimate
            return estimate * math.exp(-t * se_z), estimate * math.exp(t * se_z), ", log scale"
        return max(0.0, estimate - t * se), max(0.0, estimate + t * se), ", clipped at 0"
    if domain.scale == "plain":
        return estimate - t * se, estimate + t * se, ""
    a, b = domain.low, domain.high
    p = (estimate - a) / (b - a)
    if not 0 < p < 1:  # every value at a bound: no logit; the plain interval is clipped to the bounds
        return max(a, estimate - t * se), min(b, estimate + t * se), ", clipped to its bounds"
    z, se_z = math.log(p / (1 - p)), se / ((b - a) * p * (1 - p))
    low, high = (a + (b - a) * float(special.expit(v)) for v in (z - t * se_z, z + t * se_z))
    return low, high, ", logit scale"


def t_interval(values: Any, *, domain: Domain, level: float = 0.95, over: str = "seeds") -> Interval:
    """Student-t interval of the mean of ``values`` (one per seed, say), on the scale of ``domain``.

    ``POSITIVE`` (and ``COUNT`` without zeros): the geometric mean, and the t interval of the logs mapped
    back. A value outside the domain makes the interval undefined, with the reason.
    """
    v = _finite(values)
    n = {over.replace(" ", "_"): int(v.size)}
    if v.size == 0:
        return _undefined(None, "student-t", level, over, n, "no finite values", domain)
    outside = int(sum(not domain.contains(x) for x in v))
    if outside:
        return _undefined(None, "student-t", level, over, n, f"{outside} value(s) outside the domain {domain}", domain)
    log = domain.scale == "log" and bool(np.all(v > 0))
    mean = float(np.exp(np.log(v).mean())) if log else float(v.mean())
    if v.size < 2:
        return _undefined(mean, "student-t", level, over, n, f"one value: no spread over {over} to measure", domain)
    if log:
        from scipy import stats

        z = np.log(v)
        half = float(stats.t.ppf((1 + level) / 2, v.size - 1) * z.std(ddof=1) / math.sqrt(v.size))
        low, high = float(np.exp(z.mean() - half)), float(np.exp(z.mean() + half))
        scale = ", log scale (geometric mean)"
    else:
        low, high, scale = _t_bounds(mean, float(v.std(ddof=1) / math.sqrt(v.size)), v.size - 1, level, domain)
    flat = zero_width_caveat(v.size, over) if np.ptp(v) == 0 else None
    return Interval(mean, low, high, "student-t" + scale, level, over, n, flat, str(domain))


def bootstrap_interval(
    values: Any,
    statistic: Statistic = np.mean,
    *,
    domain: Domain,
    level: float = 0.95,
    method: str = "BCa",
    n_resamples: int = 2000,
    seed: int = 0,
    over: str = "samples",
) -> Interval:
    """``scipy.stats.bootstrap`` of ``statistic`` over one level of units (BCa or percentile).

    Refused below ``MIN_BOOTSTRAP_UNITS`` units: "not measurable: n units" (estimate kept, no interval).
    """
    v = _finite(values)
    name = f"bootstrap-{method.lower()}"
    n = {over.replace(" ", "_"): int(v.size)}
    if v.size < MIN_BOOTSTRAP_UNITS:
        return _undefined(
            float(statistic(v)) if v.size else None, name, level, over, n,
            f"not measurable: {v.size} {over} (a bootstrap interval needs at least {MIN_BOOTSTRAP_UNITS})", domain,
        )
    estimate = float(statistic(v))
    if np.ptp(v) == 0:
        return Interval(estimate, estimate, estimate, name, level, over, n,
                        "every value is the same (zero width, not certainty)", str(domain))
    from scipy import stats

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
            return _undefined(estimate, name, level, over, n, "the statistic is not finite on some resamples", domain)
        return bootstrap_interval(
            v, statistic, domain=domain, level=level, method="percentile", n_resamples=n_resamples, seed=seed, over=over
        )
    return Interval(estimate, low, high, name, level, over, n, None, str(domain))


ROWS_BLOCK_ELEMENTS = 2_000_000  # resampled test samples held at once by an ``on_rows`` statistic (16 MB)


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
    replicate for every seed, as when every seed was scored on one shared test set. A ``statistic`` with an
    ``on_rows`` attribute (the statistic of each row of a replicates × samples array) is evaluated on every paired
    replicate at once, with the same draws and values as one replicate at a time.
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
    on_rows = getattr(statistic, "on_rows", None)
    if paired and on_rows is not None:  # the statistic of every replicate at once: the same draws, the same values
        n = next(iter(sizes))
        block = max(1, ROWS_BLOCK_ELEMENTS // max(n, 1))  # replicates per pass: bounded memory for large test sets
        parts = []
        for start in range(0, n_resamples, block):
            idx = rng.integers(0, n, (min(block, n_resamples - start), n))  # the loop's draws below, in order
            parts.append(np.stack([np.asarray(on_rows(np.asarray(s)[idx]), float) for s in per_seed], axis=1))
        return np.mean(np.concatenate(parts), axis=1)
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
    domain: Domain,
) -> Interval:
    """Interval of the mean over seeds of a per-seed statistic of its test samples (None: their mean).

    ``per_seed[s]`` holds seed s's test samples (rows: samples; a 2-D array carries several columns,
    e.g. label, prediction and group, for a fairness statistic). The estimate is the mean over seeds
    of ``statistic`` on every sample; its standard error combines the seed component s²/k (Student-t)
    and the test-sample component (the variance of ``resample_test_sets``), with Welch-Satterthwaite
    degrees of freedom. With one seed the interval is the test-sample percentile bootstrap alone,
    and its reason says seed variance was not measured. ``domain``: see the module docstring.
    """
    stat = statistic or _mean_statistic
    per_seed = [np.asarray(s) for s in per_seed if len(s)]
    k = len(per_seed)
    n = {"seeds": k, "test_samples": int(min((len(s) for s in per_seed), default=0))}
    method, over = "nested (t over seeds + bootstrap over test samples)", "seeds x test samples"
    if k == 0:
        return _undefined(None, method, level, over, n, "no seed has test samples", domain)
    values = np.array([stat(s) for s in per_seed], dtype=float)
    if not np.all(np.isfinite(values)):
        bad = int((~np.isfinite(values)).sum())
        return _undefined(None, method, level, over, n, f"the statistic is undefined for {bad} of {k} seeds", domain)
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
            str(domain),
        )
    var_seed = float(values.var(ddof=1) / k)
    total = var_seed + var_test
    if total == 0:
        return Interval(estimate, estimate, estimate, method, level, over, n,
                        "no variation over seeds or test samples (zero width, not certainty)", str(domain))
    df = total**2 / (var_seed**2 / (k - 1)) if var_seed > 0 else math.inf  # Welch-Satterthwaite
    low, high, scale = _t_bounds(estimate, math.sqrt(total), df, level, domain)
    if scale:
        method = method.replace("t over seeds", f"t over seeds{scale}")
    return Interval(estimate, low, high, method, level, over, n, None, str(domain))


def domain_violations(node: Any, path: str = "") -> list[str]:
    """'path: why' for every interval in a findings tree that breaks its domain or declares none.

    An interval is an ``Interval.to_dict()`` (``kind: interval``) or a dict with scalar ``low``/``high``
    (a ``Range``, ``kind: range``, is a min-max and no interval), or a dict whose ``interval`` is a
    [low, high] list (a fitted or bootstrap interval built by hand), or a band (``low``/``high`` lists); the
    last two declare their domain in a sibling ``domain`` key. ``interval95`` lists copy an interval dict
    beside them and are not walked twice.
    """
    out: list[str] = []
    if isinstance(node, dict):
        if node.get("kind") == "interval":
            why = domain_violation(node)
            out += [f"{path}: {why}"] if why else []
        elif "low" in node and "high" in node and node.get("kind") != "range" and not isinstance(node["low"], list):
            why = domain_violation(node)  # an interval dict built by hand
            out += [f"{path}: {why}"] if why else []
        elif isinstance(node.get("interval"), list) or (isinstance(node.get("low"), list) and "high" in node):
            ends = node["interval"] if isinstance(node.get("interval"), list) else [*node["low"], *node["high"]]
            why = domain_violation({"domain": node.get("domain"), "low": min(
                (x for x in ends if x is not None), default=None), "high": max(
                (x for x in ends if x is not None), default=None)})
            out += [f"{path}: {why}"] if why else []
        for key, value in node.items():
            out += domain_violations(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += domain_violations(value, f"{path}[{i}]")
    return out
