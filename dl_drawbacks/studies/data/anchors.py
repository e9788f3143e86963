"""One learner's observations along a learning curve, and the noise of its anchor means.

An anchor's mean test error has two sources of noise: the seed (which subsample, which initialisation)
and the test set (449 digits images are one draw of the test distribution, shared by every seed,
anchor and learner). ``anchor_interval`` is ``statistics.nested_interval`` over seeds × test samples;
``replicate_means`` draws whole curves for a parametric bootstrap that keeps both: the test samples
are resampled with one set of multinomial weights per replicate shared by every anchor and learner
(so the test-set noise is as correlated as it really is), and the seed part of each anchor mean is
redrawn as s/√k · t(k−1), which keeps its level with 3-5 seeds where a bootstrap over seeds does not
(Davison & Hinkley 1997 §3.8 on two-level resampling; Viering & Loog 2022 §7 on curve variability).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...statistics import UNIT, Interval, bounded, nested_interval, t_interval


DIFFERENCE = bounded(-1, 1)  # of two error rates


@dataclass(frozen=True)
class Curve:
    """Per anchor (sorted n): per-seed test errors and, where recorded, per-seed × test-sample correctness."""

    anchors: np.ndarray
    seeds: list[np.ndarray]
    errors: list[np.ndarray]
    correct: list[np.ndarray] | None = None  # per anchor a (seeds × test samples) 0/1 matrix

    @classmethod
    def from_errors(cls, n, seed, error) -> "Curve":
        n, seed, error = np.asarray(n, float), np.asarray(seed), np.asarray(error, float)
        anchors = np.unique(n)
        order = [np.argsort(seed[n == a], kind="stable") for a in anchors]
        return cls(anchors, [seed[n == a][o] for a, o in zip(anchors, order)],
                   [error[n == a][o] for a, o in zip(anchors, order)])

    @classmethod
    def from_correct(cls, n, seed, correct) -> "Curve":
        """``correct``: one row of 0/1 per (n, seed) observation, one column per test sample."""
        n, seed, correct = np.asarray(n, float), np.asarray(seed), np.asarray(correct, float)
        anchors = np.unique(n)
        order = [np.argsort(seed[n == a], kind="stable") for a in anchors]
        mats = [correct[n == a][o] for a, o in zip(anchors, order)]
        return cls(anchors, [seed[n == a][o] for a, o in zip(anchors, order)], [1 - m.mean(axis=1) for m in mats], mats)

    @property
    def means(self) -> np.ndarray:
        return np.array([e.mean() for e in self.errors])

    @property
    def test_size(self) -> int | None:
        return None if self.correct is None else int(self.correct[0].shape[1])

    def seed_variance(self) -> np.ndarray:
        """Variance of each anchor mean from seed to seed, s²/k (0 with one seed)."""
        return np.array([e.var(ddof=1) / len(e) if len(e) > 1 else 0.0 for e in self.errors])

    def standard_errors(self) -> np.ndarray:
        """Total standard error of each anchor mean: seeds plus test samples (binomial over the shared test set)."""
        test = np.zeros(len(self.anchors))
        if self.correct is not None:  # variance of a mean over T test samples of the seed-averaged correctness
            test = np.array([c.mean(axis=0).var(ddof=1) / c.shape[1] for c in self.correct])
        return np.sqrt(self.seed_variance() + test)


def anchor_interval(curve: Curve, i: int, *, level: float = 0.95) -> Interval:
    """Interval of anchor i's mean error: nested over seeds × test samples, else Student-t over seeds; an error
    rate, so on the logit scale (inside [0, 1])."""
    if curve.correct is None:
        return t_interval(curve.errors[i], domain=UNIT, level=level, over="seeds")
    return nested_interval([1 - row for row in curve.correct[i]], level=level, paired=True, domain=UNIT)


def paired_difference(dl: Curve, base: Curve, i_dl: int, i_base: int, *, level: float = 0.95) -> Interval:
    """Interval of mean(DL error − baseline error) at one anchor, paired by seed (same subsample) and by
    test sample (same test set): nested over seeds × test samples, else Student-t over seed differences."""
    common = np.intersect1d(dl.seeds[i_dl], base.seeds[i_base])
    pick_dl = np.searchsorted(dl.seeds[i_dl], common)
    pick_base = np.searchsorted(base.seeds[i_base], common)
    if dl.correct is None or base.correct is None:
        return t_interval(dl.errors[i_dl][pick_dl] - base.errors[i_base][pick_base], domain=DIFFERENCE, level=level,
                          over="seeds")
    per_seed = [base.correct[i_base][j] - dl.correct[i_dl][i] for i, j in zip(pick_dl, pick_base)]
    return nested_interval(per_seed, level=level, paired=True, domain=DIFFERENCE)


def paired_rows(first: Curve, second: Curve, *, level: float = 0.95, min_test_samples: float = 5) -> list[dict]:
    """Per common anchor: mean(error first - error second) with its nested interval (``paired_difference``), the
    difference in test samples and the test-set noise (sd of the summed per-sample difference), and whether it is
    resolved: the interval excludes 0 and the difference is more than ``min_test_samples`` and 2 noise sd."""
    out = []
    for n in np.intersect1d(first.anchors, second.anchors):
        i, j = int(np.flatnonzero(first.anchors == n)[0]), int(np.flatnonzero(second.anchors == n)[0])
        iv = paired_difference(first, second, i, j, level=level)
        row = {"n": float(n), "difference": iv.estimate, "interval": iv.to_dict()}
        if iv.estimate is None:
            out.append({**row, "resolved": False, "reason": iv.reason})
            continue
        few = False
        t = first.test_size
        if t and second.correct is not None:
            diff = second.correct[j].mean(axis=0) - first.correct[i].mean(axis=0)
            row["difference_test_samples"] = float(iv.estimate * t)
            row["test_noise_samples"] = float(np.sqrt(diff.var(ddof=1) * t))
            few = abs(row["difference_test_samples"]) < max(min_test_samples, 2 * row["test_noise_samples"])
        row["resolved"] = bool(iv.defined and (iv.low > 0 or iv.high < 0) and not few)
        out.append(row)
    return out


def resampling_weights(test_size: int, n_resamples: int, *, seed: int = 0) -> np.ndarray:
    """Multinomial resampling weights of the shared test set, one row per replicate (share it across learners)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(test_size, np.full(test_size, 1 / test_size), n_resamples).astype(float)


def replicate_means(curve: Curve, weights: np.ndarray | None, *, n_resamples: int, seed: int = 0) -> np.ndarray:
    """(replicates × anchors) curves of anchor mean errors: test samples resampled with ``weights`` (rows:
    replicates) plus a seed part s/√k · t(k−1) per anchor (none with one seed)."""
    rng = np.random.default_rng([seed, 1])
    out = np.empty((n_resamples, len(curve.anchors)))
    for a, errs in enumerate(curve.errors):
        if curve.correct is not None and weights is not None:
            per_sample = curve.correct[a].mean(axis=0)  # seed-averaged correctness of each test sample
            out[:, a] = 1 - weights[:n_resamples] @ per_sample / per_sample.size
        else:
            out[:, a] = errs.mean()
        k = len(errs)
        if k > 1:
            out[:, a] += np.sqrt(errs.var(ddof=1) / k) * rng.standard_t(k - 1, n_resamples)
    return out
