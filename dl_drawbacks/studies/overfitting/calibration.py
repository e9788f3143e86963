"""Calibration of predicted class probabilities.

How the field measures it (Guo et al. 2017, "On Calibration of Modern Neural Networks", ICML): the top-class
confidence of each test sample is put into M = 15 equal-width bins ((m-1)/M, m/M]; ECE = Σ_m |B_m|/n ·
|acc(B_m) − conf(B_m)| (their eq. 3); the reliability diagram plots acc(B_m) against the bin; temperature
scaling divides the logits by one T > 0 that minimises NLL on a held-out validation set (their sec. 4.2),
and the test split is only scored. Also: NLL, the multi-class Brier score (Brier 1950), and the ECE a
perfectly calibrated model would show on the same confidences and sample size (consistency resampling,
Bröcker & Smith 2007), because the plug-in ECE of n samples is biased upward.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

EPS = 1e-12
N_BINS = 15


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def bin_index(conf: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Equal-width bins ((k-1)/B, k/B], numbered 0..B-1."""
    return np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)


def reliability_bins(conf: np.ndarray, correct: np.ndarray, *, n_bins: int = N_BINS) -> dict[str, np.ndarray]:
    """Per bin of top-class confidence: count, mean confidence, accuracy (NaN where a bin is empty)."""
    idx = bin_index(np.asarray(conf, float), n_bins)
    count = np.bincount(idx, minlength=n_bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, weights=conf, minlength=n_bins) / count
        acc = np.bincount(idx, weights=np.asarray(correct, float), minlength=n_bins) / count
    return {"count": count, "confidence": mean_conf, "accuracy": acc, "edges": np.linspace(0, 1, n_bins + 1)}


def ece_from_confidence(conf: np.ndarray, correct: np.ndarray, *, n_bins: int = N_BINS) -> float:
    """ECE = Σ_b |B_b|/n · |acc(B_b) − conf(B_b)| (Guo et al. 2017, eq. 3)."""
    conf = np.asarray(conf, float)
    if conf.size == 0:
        return float("nan")
    idx = bin_index(conf, n_bins)
    gap = np.bincount(idx, weights=np.asarray(correct, float) - conf, minlength=n_bins)  # n_b·(acc_b − conf_b)
    return float(np.abs(gap).sum() / conf.size)


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, *, n_bins: int = N_BINS) -> float:
    return ece_from_confidence(proba.max(axis=1), proba.argmax(axis=1) == y, n_bins=n_bins)


def ece_of_signed(samples: np.ndarray) -> float:
    """ECE of per-sample signed confidences (+conf where right, −conf where wrong): the nested-interval statistic."""
    s = np.asarray(samples, float)
    return ece_from_confidence(np.abs(s), s > 0)


def ece_of_signed_rows(samples: np.ndarray, *, n_bins: int = N_BINS) -> np.ndarray:
    """``ece_of_signed`` of each row of a (replicates × samples) array in one pass: the bins of row r are numbered
    r·B..r·B+B−1 so one ``bincount`` fills every row's bins, each in the same order as a row alone (the same sums)."""
    s = np.asarray(samples, float)
    rows, n = s.shape
    if n == 0:
        return np.full(rows, np.nan)
    conf = np.abs(s)
    idx = bin_index(conf, n_bins) + n_bins * np.arange(rows)[:, None]
    gap = np.bincount(idx.ravel(), weights=((s > 0) - conf).ravel(), minlength=rows * n_bins).reshape(rows, n_bins)
    return np.abs(gap).sum(axis=1) / n


ece_of_signed.on_rows = ece_of_signed_rows  # statistics.resample_test_sets: every replicate at once


FLOOR_BLOCK_ELEMENTS = 2_000_000  # Bernoulli draws held at once by calibrated_ece_floor (16 MB)


def calibrated_ece_floor(conf: np.ndarray, *, n_draws: int = 200, seed: int = 0, n_bins: int = N_BINS) -> float:
    """Mean ECE when correctness is drawn as Bernoulli(confidence): what a calibrated model scores here. The draws
    go through in blocks of rows (one ``bincount`` per block, bins of row r numbered r·B..r·B+B−1): the same
    uniforms in the same order as one ``rng.random(n)`` per draw, and the same per-draw sums."""
    conf = np.asarray(conf, float)
    if conf.size == 0:
        return float("nan")
    rng = np.random.default_rng(seed)
    bins, n = bin_index(conf, n_bins), conf.size
    block = max(1, FLOOR_BLOCK_ELEMENTS // n)
    eces = []
    for start in range(0, n_draws, block):
        rows = min(block, n_draws - start)
        correct = rng.random((rows, n)) < conf  # row-major: the stream of `rows` calls of rng.random(n)
        idx = bins + n_bins * np.arange(rows)[:, None]
        gap = np.bincount(idx.ravel(), weights=(correct - conf).ravel(), minlength=rows * n_bins)
        eces.append(np.abs(gap.reshape(rows, n_bins)).sum(axis=1) / n)
    return float(np.mean(np.concatenate(eces)))


def negative_log_likelihood(proba: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], EPS, 1.0))))


def brier_score(proba: np.ndarray, y: np.ndarray) -> float:
    """Mean over samples of Σ_k (p_k − 1[y=k])² (Brier 1950, multi-class form; range 0-2)."""
    onehot = np.eye(proba.shape[1])[y]
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def _nll_of_logits(logits: np.ndarray, y: np.ndarray, temperature: float) -> float:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(log_norm - z[np.arange(len(y)), y]))


class TemperatureScaling:
    """One temperature T > 0 minimising the validation NLL of softmax(logits / T) (Guo et al. 2017, sec. 4.2)."""

    def __init__(self, *, bounds: tuple[float, float] = (0.05, 20.0)) -> None:
        self.bounds = bounds

    def fit(self, logits: np.ndarray, y: np.ndarray) -> "TemperatureScaling":
        lo, hi = np.log(self.bounds[0]), np.log(self.bounds[1])
        res = minimize_scalar(
            lambda lt: _nll_of_logits(logits, y, float(np.exp(lt))), bounds=(lo, hi), method="bounded"
        )
        self.temperature_ = float(np.exp(res.x))
        self.at_bound_ = bool(min(abs(res.x - lo), abs(res.x - hi)) < 1e-3)  # the optimum may lie outside the bounds
        return self

    def transform(self, logits: np.ndarray) -> np.ndarray:
        return softmax(logits / self.temperature_)


def calibration_metrics(proba: np.ndarray, y: np.ndarray, *, n_bins: int = N_BINS) -> dict[str, float]:
    return {
        "ece": expected_calibration_error(proba, y, n_bins=n_bins),
        "nll": negative_log_likelihood(proba, y),
        "brier": brier_score(proba, y),
    }
