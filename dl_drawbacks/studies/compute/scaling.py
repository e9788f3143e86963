"""Power-law fits on log-log axes and scaling-efficiency tables (scikit-learn estimator contract)."""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats


class PowerLawFit:
    """Fit ``y = a · x^b`` by least squares on log y vs log x; ``b`` with a t-based interval.

    The usual form of compute scaling laws (Kaplan et al. 2020, eq. 1.1-1.3 fit in log space).
    """

    def __init__(self, x: str, y: str, *, confidence: float = 0.95) -> None:
        self.x, self.y, self.confidence = x, y, confidence

    def fit(self, frame: pl.DataFrame) -> "PowerLawFit":
        data = frame.select(self.x, self.y).drop_nulls().filter((pl.col(self.x) > 0) & (pl.col(self.y) > 0))
        lx, ly = np.log(data[self.x].to_numpy()), np.log(data[self.y].to_numpy())
        self.n_ = len(lx)
        self.distinct_x_ = len(np.unique(lx))
        if self.distinct_x_ < 2:
            self.exponent_ = self.prefactor_ = self.r2_ = float("nan")
            self.interval_ = (float("nan"), float("nan"))
            return self
        res = stats.linregress(lx, ly)
        self.exponent_, self.prefactor_, self.r2_ = float(res.slope), float(np.exp(res.intercept)), float(res.rvalue**2)
        dof = self.n_ - 2
        if dof > 0:
            half = float(stats.t.ppf(0.5 + self.confidence / 2, dof) * res.stderr)
            self.interval_ = (self.exponent_ - half, self.exponent_ + half)
        else:
            self.interval_ = (float("nan"), float("nan"))
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.prefactor_ * np.asarray(x, dtype=float) ** self.exponent_

    def summary(self) -> dict:
        return {"exponent": self.exponent_, "interval95": list(self.interval_), "prefactor": self.prefactor_,
                "r2": self.r2_, "n_points": self.n_, "distinct_x": self.distinct_x_}


def scaling_efficiency(frame: pl.DataFrame, *, workers: str = "workers", throughput: str = "samples_per_second", global_batch: str = "global_batch") -> tuple[str, list[dict]]:
    """Speedup and efficiency against the smallest worker count.

    Strong scaling (same global batch at every N): E = X(N) / (N/N0 · X(N0)) with throughput X.
    Weak scaling (same per-worker batch): E = t_step(N0) / t_step(N) = X(N)·N0 / (X(N0)·N).
    Both reduce to the same throughput ratio; ``mode`` says which one the sweep measured.
    """
    by_n = frame.group_by(workers).agg(pl.col(throughput).median(), pl.col(global_batch).first()).sort(workers)
    if by_n.height == 0:
        return "none", []
    mode = "strong" if by_n[global_batch].n_unique() == 1 else "weak"
    n0, x0 = by_n[workers][0], by_n[throughput][0]
    table = []
    for n, x, b in by_n.iter_rows():
        speedup = x / x0
        table.append({"workers": int(n), throughput: float(x), "global_batch": int(b), "speedup": float(speedup),
                      "ideal_speedup": n / n0, "efficiency": float(speedup / (n / n0))})
    return mode, table
