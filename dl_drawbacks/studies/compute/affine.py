"""Step time against FLOPs per step as an affine model: a fixed overhead plus a cost per FLOP.

Hockney's (r∞, n½) timing model (Hockney & Jesshope 1988, "Parallel Computers 2", §1.3.3): t = t0 + n / r∞, the
time of n operations is a start-up cost t0 plus n at an asymptotic rate r∞; here n is the training FLOPs of one
optimizer step and t the steady-state step time (evaluation excluded: a step that ends in an evaluation ends
where the evaluation starts). A power law through small models reads the overhead as a sub-linear exponent; the
affine fit names it. The unit of replication is the model size, as in ``PowerLawFit``: each size is one point,
the mean of its seeds' step times, and the intervals of t0 and c are Student-t intervals over those points with
sizes − 2 degrees of freedom (Draper & Smith 1998 §2.1 on regression on group means). Timing noise is relative
(a step twice as long varies twice as much), and sizes spaced geometrically give the largest one all the
leverage, so the fit is weighted least squares with weights 1/ȳ² (Draper & Smith 1998 §9.2): unweighted OLS
covered the true slope 32% of the time at a nominal 95% in the referee simulation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ...statistics import REAL, Interval

TFLOP = 1e12


def _weighted_line(x: np.ndarray, y: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """((intercept, slope), their standard errors) of y = a + b·x by WLS with weights 1/y² (relative errors)."""
    design = np.column_stack([np.ones_like(x), x])
    w = 1.0 / y**2
    gram = design.T @ (design * w[:, None])
    beta = np.linalg.solve(gram, design.T @ (w * y))
    dof = len(x) - 2
    sigma2 = float(np.sum(w * (y - design @ beta) ** 2) / dof) if dof > 0 else float("nan")
    se = np.sqrt(np.diag(np.linalg.inv(gram)) * sigma2)
    return (float(beta[0]), float(beta[1])), (float(se[0]), float(se[1]))


class AffineTimeFit:
    """Fit ``y = t0 + c · x`` (x in FLOPs, reported per TFLOP) by WLS over the means of ``y`` per distinct ``x``."""

    def __init__(self, x: str = "flops_per_step", y: str = "step_time_mean", *, confidence: float = 0.95) -> None:
        self.x, self.y, self.confidence = x, y, confidence

    def _interval(self, estimate: float, se: float, dof: int, counts: dict[str, int], what: str) -> Interval:
        method, over = f"WLS (1/ȳ²) {what} over size means, Student-t", "model sizes (seed means)"
        if dof < 1 or not np.isfinite(se):
            return Interval(estimate, None, None, method, self.confidence, over, counts,
                            "two model sizes: the line fits exactly, no residual to size an interval", str(REAL))
        from scipy import stats

        half = float(stats.t.ppf(0.5 + self.confidence / 2, dof) * se)
        return Interval(estimate, estimate - half, estimate + half, method, self.confidence, over, counts, None,
                        str(REAL))

    def fit(self, frame: pl.DataFrame) -> "AffineTimeFit":
        data = frame.select(self.x, self.y).drop_nulls().filter(pl.col(self.x).is_finite() & pl.col(self.y).is_finite()
                                                                & (pl.col(self.x) > 0) & (pl.col(self.y) > 0))
        means = data.group_by(self.x).agg(pl.col(self.y).mean()).sort(self.x)
        x, y = means[self.x].to_numpy() / TFLOP, means[self.y].to_numpy()
        self.n_, self.sizes_ = data.height, len(x)
        counts = {"sizes": self.sizes_, "trials": self.n_}
        if self.sizes_ < 2:
            reason = "fewer than two model sizes: no slope"
            self.slope_ = self.overhead_ = float("nan")
            self.slope_interval_ = self.overhead_interval_ = Interval(
                None, None, None, "OLS over size means", self.confidence, "model sizes (seed means)", counts, reason,
                str(REAL))
            self.overhead_share_ = float("nan")
            return self
        (self.overhead_, self.slope_), (se_overhead, se_slope) = _weighted_line(x, y)
        dof = self.sizes_ - 2
        self.slope_interval_ = self._interval(self.slope_, se_slope, dof, counts, "slope (s per TFLOP)")
        self.overhead_interval_ = self._interval(self.overhead_, se_overhead, dof, counts, "intercept (s)")
        self.overhead_share_ = self.overhead_ / float(y[0])  # of the smallest size's step time
        self.x_range_ = [float(x[0] * TFLOP), float(x[-1] * TFLOP)]
        return self

    def summary(self) -> dict[str, Any]:
        available = bool(np.isfinite(self.slope_))
        return {
            "available": available,
            "reason": None if available else self.slope_interval_.reason,
            "x": self.x, "y": self.y,
            "seconds_per_tflop": self.slope_interval_.to_dict(),
            "overhead_s": self.overhead_interval_.to_dict(),
            "overhead_share_smallest": self.overhead_share_,
            "marginal_flops_per_s": TFLOP / self.slope_ if available and self.slope_ > 0 else None,
            "flops_per_step_range": self.x_range_ if available else None,
            "n_points": self.n_, "distinct_x": self.sizes_,
        }
