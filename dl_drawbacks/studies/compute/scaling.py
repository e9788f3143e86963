"""Power-law fits on log-log axes and scaling-efficiency tables (scikit-learn estimator contract)."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ...statistics import POSITIVE, REAL, Interval, t_interval


class PowerLawFit:
    """Fit ``y = a · x^b`` by least squares on log y vs log x; ``b`` with its OLS Student-t interval.

    The usual form of compute scaling laws (Kaplan et al. 2020, eq. 1.1-1.3 fit in log space). The unit of
    replication is the model size: each size is one point, the mean of its seeds' log y (seeds are
    replicates of a size, not sizes), and the slope's interval is the OLS t interval over those points with
    sizes − 2 degrees of freedom, so the scatter of size means about the line (lack of fit and seed noise
    together) sizes it (Draper & Smith 1998 §2.1 on regression on group means). Two sizes fit exactly: no
    interval.
    """

    def __init__(self, x: str, y: str, *, confidence: float = 0.95) -> None:
        self.x, self.y, self.confidence = x, y, confidence

    def fit(self, frame: pl.DataFrame) -> "PowerLawFit":
        from scipy import stats

        data = (
            frame.select(self.x, self.y)
            .drop_nulls()
            .filter(
                pl.col(self.x).is_finite() & pl.col(self.y).is_finite() & (pl.col(self.x) > 0) & (pl.col(self.y) > 0)
            )
        )
        means = (data.select(pl.col(self.x).log().alias("lx"), pl.col(self.y).log().alias("ly"))
                 .group_by("lx").agg(pl.col("ly").mean()).sort("lx"))
        lx, ly = means["lx"].to_numpy(), means["ly"].to_numpy()
        self.n_ = data.height
        self.distinct_x_ = len(lx)
        counts = {"sizes": self.distinct_x_, "trials": self.n_}
        method, over = "OLS slope over size means (of log y), Student-t", "model sizes (seed means)"
        if self.distinct_x_ < 2:
            self.exponent_ = self.prefactor_ = self.r2_ = float("nan")
            self.interval_ = Interval(None, None, None, method, self.confidence, over, counts,
                                      "fewer than two model sizes: no slope", str(REAL))
            return self
        res = stats.linregress(lx, ly)
        self.exponent_, self.prefactor_, self.r2_ = float(res.slope), float(np.exp(res.intercept)), float(res.rvalue**2)
        dof = self.distinct_x_ - 2
        if dof > 0 and np.isfinite(res.stderr):
            half = float(stats.t.ppf(0.5 + self.confidence / 2, dof) * res.stderr)
            self.interval_ = Interval(self.exponent_, self.exponent_ - half, self.exponent_ + half, method,
                                      self.confidence, over, counts, None, str(REAL))
        else:
            self.interval_ = Interval(self.exponent_, None, None, method, self.confidence, over, counts,
                                      "two model sizes: the line fits exactly, no residual to size an interval",
                                      str(REAL))
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.prefactor_ * np.asarray(x, dtype=float) ** self.exponent_

    def summary(self) -> dict[str, Any]:
        low, high = self.interval_.low, self.interval_.high
        available = bool(np.isfinite(self.exponent_))
        return {
            "available": available,
            "reason": None if available else self.interval_.reason,
            "exponent": self.exponent_,
            "interval95": [low, high] if self.interval_.defined else None,
            "interval": self.interval_.to_dict(),
            "prefactor": self.prefactor_,
            "r2": self.r2_,
            "n_points": self.n_,
            "distinct_x": self.distinct_x_,
        }


def scaling_efficiency(
    frame: pl.DataFrame,
    *,
    workers: str = "workers",
    throughput: str = "samples_per_second",
    global_batch: str = "global_batch",
) -> tuple[str, list[dict]]:
    """Speedup and efficiency against the smallest worker count, per seed (paired by seed), with intervals.

    Strong scaling (same global batch at every N): E = X(N) / (N/N0 · X(N0)) with throughput X.
    Weak scaling (same per-worker batch): E = t_step(N0) / t_step(N) = X(N)·N0 / (X(N0)·N).
    Both reduce to the same throughput ratio; ``mode`` says which one the comparison measured
    ("mixed" when neither the global nor the per-worker batch is constant: no efficiency is defined).
    """
    by_n = (
        frame.group_by(workers)
        .agg(pl.col(global_batch).n_unique().alias("batches"), pl.col(global_batch).first())
        .sort(workers)
    )
    if by_n.height < 2 or (by_n["batches"] > 1).any():
        return "mixed", []
    if by_n[global_batch].n_unique() == 1:
        mode = "strong"
    elif (frame.group_by(workers).agg(pl.col("micro_batch").first())["micro_batch"].n_unique()) == 1:
        mode = "weak"
    else:
        return "mixed", []
    n0 = int(by_n[workers][0])
    base = frame.filter(pl.col(workers) == n0).select("seed", pl.col(throughput).alias("x0"))
    table = []
    for n, b in zip(by_n[workers], by_n[global_batch]):
        cell = frame.filter(pl.col(workers) == n).join(base, on="seed")
        speedup = (cell[throughput] / cell["x0"]).to_numpy()
        table.append(
            {
                "workers": int(n),
                "global_batch": int(b),
                "seeds": cell.height,
                throughput: t_interval(cell[throughput].to_numpy(), domain=POSITIVE, over="seeds").to_dict(),
                "speedup": t_interval(speedup, domain=POSITIVE, over="seeds").to_dict(),
                "ideal_speedup": n / n0,
                "efficiency": t_interval(speedup / (n / n0), domain=POSITIVE, over="seeds").to_dict(),
            }
        )
    return mode, table
