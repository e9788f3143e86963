"""Calibration of predicted class probabilities: expected calibration error over equal-width confidence
bins (Guo et al. 2017, "On Calibration of Modern Neural Networks", eq. 3, 15 bins), negative
log-likelihood, multi-class Brier score (Brier 1950), reliability bins, and temperature scaling fitted
on a validation split (Guo et al. 2017, sec. 4.2)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

EPS = 1e-12


def reliability_bins(proba: np.ndarray, y: np.ndarray, *, n_bins: int = 15) -> dict[str, np.ndarray]:
    """Per equal-width bin of top-class confidence: count, mean confidence, accuracy (NaN when empty)."""
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y).astype(float)
    idx = np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)  # bins (k/B, (k+1)/B]
    count = np.bincount(idx, minlength=n_bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, weights=conf, minlength=n_bins) / count
        acc = np.bincount(idx, weights=correct, minlength=n_bins) / count
    return {"count": count, "confidence": mean_conf, "accuracy": acc, "edges": np.linspace(0, 1, n_bins + 1)}


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, *, n_bins: int = 15) -> float:
    """ECE = Σ_b |B_b|/n · |acc(B_b) − conf(B_b)| (Guo et al. 2017, eq. 3)."""
    bins = reliability_bins(proba, y, n_bins=n_bins)
    full = bins["count"] > 0
    return float(np.sum(bins["count"][full] / len(y) * np.abs(bins["accuracy"][full] - bins["confidence"][full])))


def negative_log_likelihood(proba: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], EPS, 1.0))))


def brier_score(proba: np.ndarray, y: np.ndarray) -> float:
    """Mean over samples of Σ_k (p_k − 1[y=k])² (Brier 1950, multi-class form; range 0-2)."""
    onehot = np.eye(proba.shape[1])[y]
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T): the same as dividing the logits by T (log p differs from the logits by a constant per row)."""
    z = np.log(np.clip(proba, EPS, 1.0)) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class TemperatureScaling:
    """One temperature T > 0 minimising validation NLL (Guo et al. 2017, sec. 4.2); fit() returns self."""

    def __init__(self, *, bounds: tuple[float, float] = (0.05, 20.0)) -> None:
        self.bounds = bounds

    def fit(self, proba: np.ndarray, y: np.ndarray) -> "TemperatureScaling":
        lo, hi = np.log(self.bounds[0]), np.log(self.bounds[1])
        res = minimize_scalar(lambda lt: negative_log_likelihood(apply_temperature(proba, float(np.exp(lt))), y),
                              bounds=(lo, hi), method="bounded")
        self.temperature_ = float(np.exp(res.x))
        return self

    def transform(self, proba: np.ndarray) -> np.ndarray:
        return apply_temperature(proba, self.temperature_)


def calibration_metrics(proba: np.ndarray, y: np.ndarray, *, n_bins: int = 15) -> dict[str, float]:
    return {"ece": expected_calibration_error(proba, y, n_bins=n_bins), "nll": negative_log_likelihood(proba, y),
            "brier": brier_score(proba, y)}
