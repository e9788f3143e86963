"""Is there a peak in a curve of test errors over model widths? A test with intervals, not the argmax of means.

Method: an intersection-union test (Berger 1982, "Multiparameter hypothesis testing and acceptance sampling")
with a Bonferroni union bound over the selection. The candidate is the interior width of largest prominence,
min(its mean error − the lowest mean error on its left, − the lowest on its right) (not the highest error: a
curve that falls from underfitting has its highest interior errors at the narrow end); on each side the width
with the lowest mean error is its reference. A peak is declared when both
paired differences (candidate − reference; per test sample, paired by seed and test sample) have their
lower bound above 0. Each difference is a nested interval over seeds × test samples (dl_drawbacks.statistics)
at a one-sided error of α / M, where M = (W − 2)(W − 1) is the number of ordered pairs (interior width,
other width) the selection could pick: when there is no peak, every declared (candidate, left, right) holds a
pair whose true difference is ≤ 0, so a false peak needs a false one-sided rejection among those M pairs
(probability ≤ α). The excess intervals are at that adjusted level too.

And whether "no peak" is a finding at all: the design could show a peak only if the curve starts below the
interpolation threshold, and its widest model interpolates its training labels and lies well past the
threshold (Nakkiran et al. 2019 go ~8× past it; ``past`` sets the factor, 4 by default).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ...statistics import bounded, nested_interval

DIFFERENCE = bounded(-1, 1)  # of two error rates


def adjusted_level(level: float, n_widths: int) -> float:
    """Two-sided level whose lower bound has one-sided error (1 − level) / ((W − 2)(W − 1))."""
    return 1 - 2 * (1 - level) / ((n_widths - 2) * (n_widths - 1))


def _mean_error(per_seed: Mapping[int, np.ndarray]) -> float:
    return float(np.mean([np.mean(e) for e in per_seed.values()])) if per_seed else float("nan")


def paired_excess(
    a: Mapping[int, np.ndarray], b: Mapping[int, np.ndarray], *, level: float, n_resamples: int
) -> dict[str, Any]:
    """Error of ``a`` − error of ``b`` (per seed: per-test-sample errors), paired by seed and test sample."""
    seeds = sorted(set(a) & set(b))
    diffs = [np.asarray(a[s], float) - np.asarray(b[s], float) for s in seeds]
    return nested_interval(diffs, level=level, n_resamples=n_resamples, domain=DIFFERENCE).to_dict()


def peak_test(
    widths: Sequence[int], errors: Sequence[Mapping[int, np.ndarray]], *, level: float, n_resamples: int
) -> dict[str, Any]:
    """``errors[i][seed]``: the 0/1 test-sample errors of width ``widths[i]`` trained with ``seed``."""
    means = [_mean_error(e) for e in errors]
    if len(widths) < 3 or not np.all(np.isfinite(means)):
        return {"peak": False, "candidate_width": None,
                "verdict": f"not testable: {len(widths)} width(s) with test errors (needs 3 or more)"}
    prominence = [min(means[k] - min(means[:k]), means[k] - min(means[k + 1:])) for k in range(1, len(means) - 1)]
    k = 1 + int(np.argmax(prominence))
    left, right = int(np.argmin(means[:k])), k + 1 + int(np.argmin(means[k + 1:]))
    if prominence[k - 1] <= 0:
        return {"peak": False, "candidate_width": None, "verdict": "no interior width above a width on each side"}
    adj = adjusted_level(level, len(widths))
    over_left = paired_excess(errors[k], errors[left], level=adj, n_resamples=n_resamples)
    over_right = paired_excess(errors[k], errors[right], level=adj, n_resamples=n_resamples)
    clears = [d["low"] is not None and d["low"] > 0 for d in (over_left, over_right)]
    w = widths[k]
    side = "both sides" if not any(clears) else ("the left side" if not clears[0] else "the right side")
    return {
        "peak": all(clears),
        "candidate_width": w,
        "left_width": widths[left],
        "right_width": widths[right],
        "excess_over_left": over_left,
        "excess_over_right": over_right,
        "level": adj,
        "verdict": (f"peak at width {w}" if all(clears)
                    else f"highest interior error at width {w} does not clear {side}"),
    }


def design_resolves(
    widths: Sequence[int], train_accuracy: Sequence[float | None], threshold: int | None, *, fit_threshold: float,
    past: float,
) -> tuple[bool, str]:
    """(could this width grid show a peak?, why / why not) from the mean train accuracy on the training labels."""
    widest, acc = widths[-1], train_accuracy[-1]
    if acc is None or not acc >= fit_threshold:  # NaN: not measured, so not interpolating
        shown = "—" if acc is None else f"{acc:.3f}"
        return False, (f"the widest width {widest} does not interpolate its training labels (train accuracy "
                       f"{shown} < {fit_threshold:g}): train longer or add wider models")
    assert threshold is not None  # the widest interpolates, so some width reached the threshold
    if threshold == widths[0]:
        return False, f"the narrowest width {widths[0]} already interpolates: no width below the threshold"
    if widest < past * threshold:
        return False, (f"the widest width {widest} is {widest / threshold:.3g}× the interpolation threshold "
                       f"{threshold} (needs ≥ {past:g}× to see the error fall after it)")
    return True, (f"widths {widths[0]}–{widest} span the threshold {threshold} up to {widest / threshold:.3g}× "
                  "past it, and the widest interpolates")
