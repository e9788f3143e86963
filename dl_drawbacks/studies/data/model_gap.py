"""The gap between two deep-learning learners at each anchor — the MNIST-1D paper's CNN - MLP gap (Greydanus 2020,
Table 1: 94% vs 68% at 4,000 samples) read along the whole curve: error(first) - error(second) paired by seed (the
same subsample) and test sample, with the same nested interval as the DL-vs-baseline differences
(``anchors.paired_difference``). Needs no fitted curve, so it stands where every curve family fails."""

from __future__ import annotations

import itertools

import numpy as np

from .anchors import Curve, paired_difference


def _gap(first: Curve, second: Curve, *, level: float, min_test_samples: float) -> list[dict]:
    out = []
    for n in np.intersect1d(first.anchors, second.anchors):
        i, j = int(np.flatnonzero(first.anchors == n)[0]), int(np.flatnonzero(second.anchors == n)[0])
        iv = paired_difference(first, second, i, j, level=level)
        row = {"n": float(n), "difference": iv.estimate, "interval": iv.to_dict()}
        t = first.test_size
        few = False
        if iv.estimate is not None and t and second.correct is not None:
            diff = second.correct[j].mean(axis=0) - first.correct[i].mean(axis=0)
            row["difference_test_samples"] = float(iv.estimate * t)
            row["test_noise_samples"] = float(np.sqrt(diff.var(ddof=1) * t))  # sd of the summed difference
            few = abs(row["difference_test_samples"]) < max(min_test_samples, 2 * row["test_noise_samples"])
        resolved = bool(iv.defined and (iv.low > 0 or iv.high < 0) and not few)
        row["resolved"] = resolved
        row["lower_error"] = "unresolved" if not resolved else ("first" if iv.estimate < 0 else "second")
        if iv.estimate is None:
            row["reason"] = iv.reason
        out.append(row)
    return out


def model_gaps(curves: dict[str, Curve], *, level: float = 0.95, min_test_samples: float = 5) -> list[dict]:
    """One entry per pair of deep-learning learners (in the order they appear), each with its per-anchor gap."""
    return [
        {"first": a, "second": b, "per_anchor": _gap(curves[a], curves[b], level=level,
                                                     min_test_samples=min_test_samples),
         "test": f"paired by seed and test sample; {level:.0%} nested interval over seeds × test samples"}
        for a, b in itertools.combinations(curves, 2)
    ]
