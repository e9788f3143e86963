"""Learning-curve fits with family-choice uncertainty and intervals over seeds × test samples
(scikit-learn estimator contract: fit() returns self, results end in _).

How the field does it, and what we follow: LCDB (Mohr et al. 2022) fits each family by least squares
to the mean curve over seeds and compares families by how well a fit on the smaller anchors predicts
the larger ones; Viering & Loog 2022 (TPAMI, §6-7) warn that no family fits every curve and that the
choice of family dominates extrapolation. So: every family is fitted; one *passes* when its fit
converges, sits on no parameter bound, and its fit without the largest anchor predicts that anchor
within 2 standard errors (seeds + test samples) plus ``holdout_tolerance``. Intervals come from a
parametric bootstrap of whole curves (``anchors.replicate_means``) refitted per replicate, each
replicate with a family drawn at random among those that pass (equal-weight model averaging), so the
data-to-target interval carries the family choice; the spread of point estimates over passing families
is reported beside it as a range.
"""

from __future__ import annotations

import numpy as np

from ...statistics import NONNEGATIVE, Interval, value_range
from .anchors import Curve, replicate_means
from .curves import FAMILIES, at_bound, fit_family, n_to_reach

DEFAULT_FAMILIES = ("pow2", "pow3", "pow4", "mmf4", "wbl4")
BOOTSTRAP_METHOD = (
    "parametric bootstrap: test samples resampled (shared weights) + seed part s/√k·t(k−1) per anchor, "
    "curve refitted per replicate, percentile interval"
)


def monotonicity_violations(anchors: np.ndarray, means: np.ndarray, se: np.ndarray, *, tolerance: float) -> list[dict]:
    """Consecutive anchors where mean error rises by more than tolerance + 2 standard errors of the difference."""
    out = []
    for i in range(len(anchors) - 1):
        rise = means[i + 1] - means[i]
        if rise > tolerance + 2 * np.hypot(se[i], se[i + 1]):
            out.append({"from_n": float(anchors[i]), "to_n": float(anchors[i + 1]), "rise": float(rise)})
    return out


def _finite(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


class LearningCurveFit:
    """Fit error(n) of one learner: each family assessed, passing families model-averaged in a bootstrap."""

    def __init__(
        self,
        *,
        families: tuple[str, ...] = DEFAULT_FAMILIES,
        n_bootstrap: int = 200,
        min_anchors: int = 5,
        monotone_tolerance: float = 0.01,
        holdout_tolerance: float = 0.0,
        level: float = 0.95,
        random_state: int = 0,
    ) -> None:
        self.families, self.n_bootstrap, self.min_anchors = families, n_bootstrap, min_anchors
        self.monotone_tolerance, self.holdout_tolerance = monotone_tolerance, holdout_tolerance
        self.level, self.random_state = level, random_state

    def fit(self, curve: Curve, *, weights: np.ndarray | None = None) -> "LearningCurveFit":
        self.curve_ = curve
        self.anchors_, self.means_, self.se_ = curve.anchors, curve.means, curve.standard_errors()
        self.violations_ = monotonicity_violations(
            self.anchors_, self.means_, self.se_, tolerance=self.monotone_tolerance
        )
        self.assessment_ = {name: self._assess(name) for name in self.families}
        self.passing_ = [k for k, v in self.assessment_.items() if v["passes"]]
        self.family_ = min(
            self.passing_, key=lambda k: (self.assessment_[k]["holdout_abs_error"], FAMILIES[k].n_params), default=None
        )
        self.params_ = None if self.family_ is None else np.array(self.assessment_[self.family_]["params"])
        self.reasons_ = self._refusals()
        self.replicates_ = replicate_means(curve, weights, n_resamples=self.n_bootstrap, seed=self.random_state)
        self.draws_ = self._bootstrap() if self.passing_ else []
        self.exponent_family_ = self._exponent_family()
        self.exponent_draws_ = self._refit_all(self.exponent_family_) if self.exponent_family_ else np.empty((0, 2))
        return self

    def _assess(self, name: str) -> dict:
        fam = FAMILIES[name]
        if len(self.anchors_) < fam.n_params + 2:
            return {
                "passes": False,
                "params": None,
                "holdout_abs_error": None,
                "why": f"needs {fam.n_params + 2} anchors",
            }
        full = fit_family(fam, self.anchors_, self.means_)
        held = fit_family(fam, self.anchors_[:-1], self.means_[:-1])
        if full is None or held is None:
            return {"passes": False, "params": None, "holdout_abs_error": None, "why": "fit did not converge"}
        bound = at_bound(fam, full)
        pred = float(fam.f(self.anchors_[-1], *held))
        err = abs(pred - float(self.means_[-1]))
        allowed = 2 * float(self.se_[-1]) + self.holdout_tolerance
        why = (
            "degenerate: " + "; ".join(bound)
            if bound
            else (
                f"held-out error {err:.4f} at n={self.anchors_[-1]:g} > 2 SE + tolerance = {allowed:.4f}"
                if err > allowed
                else None
            )
        )
        return {
            "passes": why is None,
            "params": full.tolist(),
            "at_bound": bound,
            "holdout_abs_error": err,
            "holdout_predicted": pred,
            "holdout_allowed": allowed,
            "why": why,
        }

    def _refusals(self) -> list[str]:
        reasons = []
        if len(self.anchors_) < self.min_anchors:
            reasons.append(f"only {len(self.anchors_)} anchors (< {self.min_anchors})")
        if self.violations_:
            reasons.append(
                "non-monotone: error rises between "
                + ", ".join(f"n={v['from_n']:g}→{v['to_n']:g}" for v in self.violations_)
            )
        if not self.passing_:
            reasons.append(
                "no curve family passes: " + "; ".join(f"{k}: {v['why']}" for k, v in self.assessment_.items())
            )
        if min(len(e) for e in self.curve_.errors) < 2:
            reasons.append("fewer than 2 seeds at some anchor: seed variance not measured")
        return reasons

    @property
    def extrapolation_allowed_(self) -> bool:
        return not self.reasons_

    def _bootstrap(self) -> list[tuple[str, np.ndarray]]:
        """One (family, params) per replicate; the family drawn uniformly among the passing ones."""
        rng = np.random.default_rng([self.random_state, 2])
        picks = rng.choice(self.passing_, size=self.n_bootstrap)
        out = []
        for y, name in zip(self.replicates_, picks):
            fam = FAMILIES[name]
            p = fit_family(fam, self.anchors_, y, start=np.array(self.assessment_[name]["params"]), only_start=True)
            out.append((str(name), p if p is not None else np.full(fam.n_params, np.nan)))
        return out

    def _refit_all(self, name: str) -> np.ndarray:
        fam, start = FAMILIES[name], np.array(self.assessment_[name]["params"])
        fits = [fit_family(fam, self.anchors_, y, start=start, only_start=True) for y in self.replicates_]
        return np.array([p if p is not None else np.full(fam.n_params, np.nan) for p in fits])

    def _exponent_family(self) -> str | None:
        """pow3 when its fit is interior; pow2 (pow3 with c = 0) when pow3's c sits on its bound."""
        for name in ("pow3", "pow2"):
            a = self.assessment_.setdefault(name, self.assessment_.get(name) or self._assess(name))
            if a["params"] is not None and not a["at_bound"]:
                return name
        return None

    def predict(self, n: np.ndarray, family: str | None = None, params: np.ndarray | None = None) -> np.ndarray:
        return FAMILIES[family or self.family_].f(np.asarray(n, float), *(self.params_ if params is None else params))

    def band(self, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise percentile band of the model-averaged bootstrap curves at ``level``."""
        curves = np.array([self.predict(n, f, p) for f, p in self.draws_ if np.all(np.isfinite(p))])
        q = (1 - self.level) / 2
        return np.quantile(curves, q, axis=0), np.quantile(curves, 1 - q, axis=0)

    def _over(self) -> dict[str, int]:
        n = {"seeds_min": int(min(len(e) for e in self.curve_.errors)), "replicates": self.n_bootstrap}
        return {**n, "test_samples": self.curve_.test_size} if self.curve_.test_size else n

    def exponent(self) -> dict:
        """b of error ≈ c + a·n^-b (pow3, or pow2 when c sits on 0) with its bootstrap interval."""
        name = self.exponent_family_
        if name is None:
            return {"available": False, "reason": "neither pow3 nor pow2 fits without a parameter on its bound"}
        if not self.assessment_[name]["passes"]:  # an exponent is only as good as its family's held-out test
            return {"available": False, "family": name,
                    "reason": f"not resolved: {name} failed its own held-out test ({self.assessment_[name]['why']})"}
        p = np.array(self.assessment_[name]["params"])
        bs = self.exponent_draws_[:, 1][np.isfinite(self.exponent_draws_[:, 1])]
        q = (1 - self.level) / 2
        lo, hi = np.quantile(bs, [q, 1 - q]) if bs.size >= 10 else (None, None)
        over = "seeds x test samples" if self.curve_.correct is not None else "seeds"
        fam = FAMILIES[name]
        on_bound = float(
            np.mean([bool(at_bound(fam, d)) for d in self.exponent_draws_ if np.all(np.isfinite(d))] or [0.0])
        )
        notes = [f"only {bs.size} bootstrap refits converged"] if bs.size < 10 else []
        notes += ["pow3's asymptote c sits on its bound 0: exponent of pow2 (c = 0)"] if name == "pow2" else []
        notes += (
            [f"{on_bound:.0%} of bootstrap refits sit on a parameter bound: the interval is cut there"]
            if on_bound > 0.025
            else []
        )
        reason = "; ".join(notes) or None
        iv = Interval(
            float(p[1]),
            _finite(lo) if lo is not None else None,
            _finite(hi) if hi is not None else None,
            BOOTSTRAP_METHOD,
            self.level,
            over,
            self._over(),
            reason,
            str(NONNEGATIVE),
        )
        return {
            "available": True,
            "family": name,
            "b": float(p[1]),
            "interval": iv.to_dict(),
            "a": float(p[0]),
            "c": float(p[2]) if name == "pow3" else 0.0,
            "bootstrap_fits": int(bs.size),
            "share_of_refits_on_bound": on_bound,
        }

    def data_to_reach(self, target: float, *, n_cap: float = 1e9) -> dict:
        """n with predicted error ≤ target: median and interval over the model-averaged bootstrap (unreachable
        draws count as +inf), P(unreachable), the point estimate of each passing family and their range."""
        if not self.extrapolation_allowed_:
            return {"target_error": target, "available": False, "reason": "; ".join(self.reasons_)}
        per_family = {
            k: _finite(n_to_reach(FAMILIES[k], np.array(self.assessment_[k]["params"]), target, n_min=1.0, n_cap=n_cap))
            for k in self.passing_
        }
        draws = np.array(
            [
                n_to_reach(FAMILIES[f], p, target, n_min=1.0, n_cap=n_cap)
                for f, p in self.draws_
                if np.all(np.isfinite(p))
            ]
        )
        q = (1 - self.level) / 2
        med, lo, hi = np.quantile(draws, [0.5, q, 1 - q], method="inverted_cdf") if draws.size else (np.inf,) * 3
        reached = next((float(a) for a, m in zip(self.anchors_, self.means_) if m <= target), None)
        # interpolated only when an anchor's mean error actually reaches the target; otherwise it is extrapolated
        beyond = reached is None or not np.isfinite(med) or med > self.anchors_[-1]
        return {
            "target_error": target,
            "available": True,
            "median": _finite(med),
            "level": self.level,
            "interval": [_finite(lo), _finite(hi)],
            "domain": "positive",
            "p_unreachable": float(np.mean(~np.isfinite(draws))) if draws.size else None,
            "provenance": "extrapolated" if beyond else "interpolated within the anchors",
            "families": self.passing_,
            "per_family_point": per_family,
            "family_spread": value_range(
                [v for v in per_family.values() if v is not None], over="passing families"
            ).to_dict(),
            "already_reached_at_n": reached,
            "largest_anchor": float(self.anchors_[-1]),
            "n_cap": n_cap,
            "bootstrap_fits": int(draws.size),
            "method": BOOTSTRAP_METHOD + ", family drawn per replicate among those that pass",
        }

    def summary(self) -> dict:
        return {
            "anchors": self.anchors_.tolist(),
            "mean_error": self.means_.tolist(),
            "standard_error": self.se_.tolist(),
            "seeds_per_anchor": [len(e) for e in self.curve_.errors],
            "test_samples": self.curve_.test_size,
            "family": self.family_,
            "params": None if self.params_ is None else self.params_.tolist(),
            "families": self.assessment_,
            "passing_families": self.passing_,
            "extrapolation_allowed": self.extrapolation_allowed_,
            "refusal_reasons": self.reasons_,
            "violations": self.violations_,
            "exponent": self.exponent(),
        }
