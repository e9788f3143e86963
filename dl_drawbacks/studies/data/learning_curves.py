"""Learning curves: parametric families of error vs training-set size n, model selection by
extrapolation to the largest anchor, bootstrap over seeds, and what the fit says about the data
needed to reach a target error (scikit-learn estimator contract: fit() returns self, results end in _).

Families from Viering & Loog 2022, "The Shape of Learning Curves: a Review" (TPAMI), Table 1,
written for a decreasing error curve with asymptote c:
  pow3  c + a·n^(-b)                 power law with offset
  pow4  c + a·(n + d)^(-b)           4-parameter power law (shift d ≥ 0)
  mmf4  (a·b + c·n^d) / (b + n^d)    Morgan-Mercer-Flodin (a at n→0, c at n→∞)
  wbl4  c + b·exp(-a·n^d)            Weibull
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.optimize import OptimizeWarning, brentq, curve_fit


@dataclass(frozen=True)
class Family:
    name: str
    f: Callable[..., np.ndarray]
    bounds: tuple[tuple[float, ...], tuple[float, ...]]
    starts: Callable[[np.ndarray, np.ndarray], list[tuple[float, ...]]]
    asymptote: Callable[[np.ndarray], float]

    @property
    def n_params(self) -> int:
        return len(self.bounds[0])


def _pow3(n, a, b, c):
    return c + a * np.power(n, -b)


def _pow4(n, a, b, c, d):
    return c + a * np.power(n + d, -b)


def _mmf4(n, a, b, c, d):
    nd = np.power(n, d)
    return (a * b + c * nd) / (b + nd)


def _wbl4(n, a, b, c, d):
    return c + b * np.exp(-a * np.power(n, d))


def _pow_starts(n, y):
    lo = max(float(y.min()) * 0.5, 0.0)
    return [(float(y[0] * n[0] ** 0.5), 0.5, lo), (float(y[0] * n[0]), 1.0, 0.0), (float(y[0] * n[0] ** 0.2), 0.2, lo)]


FAMILIES: dict[str, Family] = {
    "pow3": Family("pow3", _pow3, ((0, 1e-3, 0), (1e6, 4, 1)), _pow_starts, lambda p: p[2]),
    "pow4": Family("pow4", _pow4, ((0, 1e-3, 0, 0), (1e8, 4, 1, 1e5)),
                   lambda n, y: [(*s, 1.0) for s in _pow_starts(n, y)] + [(*_pow_starts(n, y)[0], float(n[0]))], lambda p: p[2]),
    "mmf4": Family("mmf4", _mmf4, ((0, 1e-6, 0, 1e-2), (2, 1e9, 1, 4)),
                   lambda n, y: [(min(float(y[0]) * 1.2, 2), float(n[0]) ** 0.7, float(y.min()) * 0.5, 0.7),
                                 (min(float(y[0]) * 1.5, 2), float(np.median(n)), 0.0, 1.0)], lambda p: p[2]),
    "wbl4": Family("wbl4", _wbl4, ((0, 0, 0, 1e-2), (1e3, 2, 1, 2)),
                   lambda n, y: [(1.0 / float(np.median(n)) ** 0.5, float(y[0]), float(y.min()) * 0.5, 0.5),
                                 (1.0 / float(np.median(n)), float(y[0]), 0.0, 1.0)], lambda p: p[2]),
}


def fit_family(family: Family, n: np.ndarray, y: np.ndarray, *, extra_start: np.ndarray | None = None) -> np.ndarray | None:
    """Least squares on the error scale from several starts (trust-region reflective, bounded); None when none converge."""
    best, best_sse = None, np.inf
    starts = ([tuple(extra_start)] if extra_start is not None else []) + family.starts(n, y)
    lo, hi = np.array(family.bounds[0], float), np.array(family.bounds[1], float)
    for p0 in starts:
        p0 = np.clip(np.asarray(p0, float), lo + 1e-9, hi - 1e-9)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", (OptimizeWarning, RuntimeWarning))
                params, _ = curve_fit(family.f, n, y, p0=p0, bounds=(lo, hi), method="trf", maxfev=4000)
        except (RuntimeError, ValueError):
            continue
        sse = float(np.sum((family.f(n, *params) - y) ** 2))
        if np.isfinite(sse) and sse < best_sse:
            best, best_sse = params, sse
    return best


def n_to_reach(family: Family, params: np.ndarray, target: float, *, n_min: float, n_cap: float) -> float:
    """Smallest n ≥ n_min with f(n) ≤ target (inf when not reached by n_cap)."""
    grid = np.geomspace(n_min, n_cap, 600)
    vals = family.f(grid, *params)
    hit = np.flatnonzero(vals <= target)
    if hit.size == 0:
        return float("inf")
    if hit[0] == 0:
        return float(n_min)
    return float(brentq(lambda x: family.f(x, *params) - target, grid[hit[0] - 1], grid[hit[0]]))


def anchor_table(n: np.ndarray, seeds: np.ndarray, error: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Sorted distinct anchors and, per anchor, the errors ordered by seed."""
    anchors = np.unique(n)
    per = [error[n == a][np.argsort(seeds[n == a], kind="stable")] for a in anchors]
    return anchors.astype(float), per


def monotonicity_violations(anchors: np.ndarray, per: list[np.ndarray], *, tolerance: float) -> list[dict]:
    """Consecutive anchors where mean error rises by more than tolerance + 2 standard errors of the difference."""
    means = np.array([p.mean() for p in per])
    ses = np.array([p.std(ddof=1) / np.sqrt(len(p)) if len(p) > 1 else 0.0 for p in per])
    out = []
    for i in range(len(anchors) - 1):
        rise = means[i + 1] - means[i]
        if rise > tolerance + 2 * np.hypot(ses[i], ses[i + 1]):
            out.append({"from_n": float(anchors[i]), "to_n": float(anchors[i + 1]), "rise": float(rise)})
    return out


class LearningCurveFit:
    """Fit error(n) from per-seed rows: families compared by extrapolation to the largest anchor,
    the winner refitted on all anchors, and ``n_bootstrap`` refits on seeds resampled per anchor."""

    def __init__(self, *, families: tuple[str, ...] = ("pow3", "pow4", "mmf4", "wbl4"), n_bootstrap: int = 200,
                 min_anchors: int = 5, monotone_tolerance: float = 0.01, random_state: int = 0) -> None:
        self.families, self.n_bootstrap, self.min_anchors = families, n_bootstrap, min_anchors
        self.monotone_tolerance, self.random_state = monotone_tolerance, random_state

    def fit(self, n: np.ndarray, seeds: np.ndarray, error: np.ndarray) -> "LearningCurveFit":
        self.anchors_, self.per_anchor_ = anchor_table(np.asarray(n), np.asarray(seeds), np.asarray(error, float))
        self.means_ = np.array([p.mean() for p in self.per_anchor_])
        self.violations_ = monotonicity_violations(self.anchors_, self.per_anchor_, tolerance=self.monotone_tolerance)
        self.selection_ = self._select()
        ok = {k: v for k, v in self.selection_.items() if v["holdout_abs_error"] is not None}
        self.family_ = min(ok, key=lambda k: (ok[k]["holdout_abs_error"], FAMILIES[k].n_params)) if ok else None
        self.params_ = fit_family(FAMILIES[self.family_], self.anchors_, self.means_) if self.family_ else None
        self.reasons_ = self._refusals()
        self.boot_params_ = self._bootstrap(self.family_) if self.family_ and self.params_ is not None else []
        self.pow3_params_ = fit_family(FAMILIES["pow3"], self.anchors_, self.means_) if len(self.anchors_) >= 3 else None
        self.pow3_boot_ = (self.boot_params_ if self.family_ == "pow3" else self._bootstrap("pow3")) if self.pow3_params_ is not None else []
        return self

    def _select(self) -> dict[str, dict]:
        out = {}
        for name in self.families:
            fam = FAMILIES[name]
            if len(self.anchors_) - 1 < fam.n_params + 1:
                out[name] = {"holdout_abs_error": None, "why": f"needs {fam.n_params + 2} anchors"}
                continue
            p = fit_family(fam, self.anchors_[:-1], self.means_[:-1])
            if p is None:
                out[name] = {"holdout_abs_error": None, "why": "fit did not converge"}
                continue
            pred = float(fam.f(self.anchors_[-1], *p))
            out[name] = {"holdout_abs_error": abs(pred - float(self.means_[-1])), "predicted": pred, "observed": float(self.means_[-1])}
        return out

    def _refusals(self) -> list[str]:
        reasons = []
        if len(self.anchors_) < self.min_anchors:
            reasons.append(f"only {len(self.anchors_)} anchors (< {self.min_anchors})")
        if self.violations_:
            reasons.append("non-monotone: error rises between " + ", ".join(f"n={v['from_n']:g}→{v['to_n']:g}" for v in self.violations_))
        if self.family_ is None or self.params_ is None:
            reasons.append("no curve family could be fitted and checked on a held-out anchor")
        if min(len(p) for p in self.per_anchor_) < 2:
            reasons.append("fewer than 2 seeds at some anchor: no bootstrap over seeds")
        return reasons

    @property
    def extrapolation_allowed_(self) -> bool:
        return not self.reasons_

    def _bootstrap(self, name: str) -> list[np.ndarray]:
        """Refit on per-anchor means of seeds drawn with replacement (same draws for every curve with the same seeds)."""
        fam, rng = FAMILIES[name], np.random.default_rng(self.random_state)
        draws = [rng.integers(0, len(p), size=(self.n_bootstrap, len(p))) for p in self.per_anchor_]
        start = fit_family(fam, self.anchors_, self.means_)
        out = []
        for b in range(self.n_bootstrap):
            y = np.array([p[d[b]].mean() for p, d in zip(self.per_anchor_, draws)])
            params = fit_family(fam, self.anchors_, y, extra_start=start) if start is not None else None
            out.append(params if params is not None else np.full(fam.n_params, np.nan))
        return out

    def predict(self, n: np.ndarray, params: np.ndarray | None = None) -> np.ndarray:
        return FAMILIES[self.family_].f(np.asarray(n, float), *(self.params_ if params is None else params))

    def band(self, n: np.ndarray, *, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        curves = np.array([self.predict(n, p) for p in self.boot_params_ if np.all(np.isfinite(p))])
        q = (1 - level) / 2
        return np.quantile(curves, q, axis=0), np.quantile(curves, 1 - q, axis=0)

    def exponent(self) -> dict:
        """b of the pow3 fit (c + a·n^-b) with a 95% percentile interval over the seed bootstrap."""
        if self.pow3_params_ is None:
            return {"b": None, "interval95": [None, None], "method": "pow3 needs 3 anchors"}
        bs = np.array([p[1] for p in self.pow3_boot_ if np.all(np.isfinite(p))])
        lo, hi = (np.quantile(bs, [0.025, 0.975]).tolist() if bs.size else [None, None])
        return {"b": float(self.pow3_params_[1]), "interval95": [lo, hi], "a": float(self.pow3_params_[0]),
                "c": float(self.pow3_params_[2]), "bootstrap_fits": int(bs.size),
                "method": f"pow3 least squares on seed means; percentile bootstrap over seeds per anchor ({self.n_bootstrap} draws)"}

    def data_to_reach(self, target: float, *, n_cap: float = 1e9) -> dict:
        """n with predicted error ≤ target under the chosen family: point, median and 90% interval over the
        bootstrap (unreachable draws count as +inf), and the share of draws where the target is never reached."""
        if not self.extrapolation_allowed_:
            return {"target_error": target, "refused": True, "reasons": self.reasons_}
        fam = FAMILIES[self.family_]
        point = n_to_reach(fam, self.params_, target, n_min=1.0, n_cap=n_cap)
        draws = np.array([n_to_reach(fam, p, target, n_min=1.0, n_cap=n_cap) for p in self.boot_params_ if np.all(np.isfinite(p))])
        med, lo, hi = np.quantile(draws, [0.5, 0.05, 0.95], method="inverted_cdf") if draws.size else (np.inf,) * 3

        def finite(v: float) -> float | None:
            return float(v) if np.isfinite(v) else None

        return {"target_error": target, "refused": False, "family": self.family_, "point": finite(point),
                "median": finite(med), "interval90": [finite(lo), finite(hi)],
                "p_unreachable": float(np.mean(~np.isfinite(draws))) if draws.size else None,
                "already_reached_at_n": next((float(a) for a, m in zip(self.anchors_, self.means_) if m <= target), None),
                "largest_anchor": float(self.anchors_[-1]), "n_cap": n_cap, "bootstrap_fits": int(draws.size)}

    def summary(self) -> dict:
        return {"anchors": self.anchors_.tolist(), "mean_error": self.means_.tolist(),
                "seeds_per_anchor": [len(p) for p in self.per_anchor_], "family": self.family_,
                "params": None if self.params_ is None else self.params_.tolist(), "selection": self.selection_,
                "extrapolation_allowed": self.extrapolation_allowed_, "refusal_reasons": self.reasons_,
                "violations": self.violations_, "exponent": self.exponent()}


def crossover(dl: LearningCurveFit, base: LearningCurveFit, *, n_cap: float = 1e7) -> dict:
    """Where deep learning's error drops below the baseline's: observed (smallest anchor from which the
    DL mean error stays lower) and fitted (first sign change of the fitted difference, per paired bootstrap draw)."""
    common = np.intersect1d(dl.anchors_, base.anchors_)
    diff = {a: float(dl.means_[dl.anchors_ == a][0] - base.means_[base.anchors_ == a][0]) for a in common}
    better = [a for a in common if diff[a] < 0]
    observed = next((float(a) for i, a in enumerate(common) if all(diff[b] < 0 for b in common[i:])), None)
    out = {"dl_minus_baseline_by_n": {f"{a:g}": d for a, d in diff.items()}, "dl_better_at_n": [float(a) for a in better],
           "observed_crossover_n": observed}
    if not (dl.extrapolation_allowed_ and base.extrapolation_allowed_):
        return {**out, "fitted": {"refused": True, "reasons": [f"deep learning: {r}" for r in dl.reasons_] + [f"baseline: {r}" for r in base.reasons_]}}
    grid = np.geomspace(common[0], n_cap, 800)

    def first_cross(pd, pb) -> float:
        g = dl.predict(grid, pd) - base.predict(grid, pb)
        idx = np.flatnonzero((g[:-1] >= 0) & (g[1:] < 0))
        if g[0] < 0 and np.all(g < 0):
            return float(grid[0])
        return float(grid[idx[0] + 1]) if idx.size else float("inf")

    pairs = [(a, b) for a, b in zip(dl.boot_params_, base.boot_params_) if np.all(np.isfinite(a)) and np.all(np.isfinite(b))]
    draws = np.array([first_cross(a, b) for a, b in pairs])
    med, lo, hi = np.quantile(draws, [0.5, 0.05, 0.95], method="inverted_cdf") if draws.size else (np.inf,) * 3
    fin = lambda v: float(v) if np.isfinite(v) else None  # noqa: E731
    return {**out, "fitted": {"refused": False, "point": fin(first_cross(dl.params_, base.params_)), "median": fin(med),
                              "interval90": [fin(lo), fin(hi)], "p_no_crossover": float(np.mean(~np.isfinite(draws))) if draws.size else None,
                              "n_cap": n_cap, "method": "first n where fitted DL error < fitted baseline error; paired seed bootstrap"}}
