"""Model-wise double descent as a test, not an argmax.

How the paper measures it (Nakkiran et al. 2019, "Deep Double Descent", ICLR 2020, sec. 5): test error
against model width at fixed data and budget, for label noise 0/10/20% applied to the train labels only
(test labels clean), trained without early stopping; the peak sits near the interpolation threshold, the
smallest model that reaches ~0 train error on the (noisy) train labels (their EMC ≈ n).
Here, per label noise and every other factor: test error per width with nested intervals over seeds ×
test samples; the threshold = the smallest width whose mean train accuracy on its training labels is
≥ fit_threshold; a peak is declared only when the interior width with the highest mean error exceeds the
lowest-error width on *each* side, both paired differences (seed × test sample) having their lower bound
above 0 at a Bonferroni-adjusted level (the candidate is picked from the same data: α / (2 × interior widths)).
Otherwise: "no peak resolved at this resolution".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from .generalization import RATE, correctness, nested, over_seeds, paired

OTHERS = ("label_noise", "random_labels", "depth", "n_train", "epochs", "regularizer")


def _curve(g: pl.DataFrame, preds: dict[str, np.ndarray], o: Any) -> list[dict[str, Any]]:
    out = []
    for (w,), part in sorted(g.group_by("width"), key=lambda kv: kv[0][0]):
        out.append(
            {
                "width": int(w),
                "seeds": part.height,
                "test_error": nested(part, preds, lambda r, s: 1 - correctness(s), o),
                "train_error_labels": over_seeds((1 - part["final_accuracy_train"]).to_list(), o, RATE),
                "train_error_clean": over_seeds((1 - part["final_accuracy_train_clean"]).to_list(), o, RATE),
            }
        )
    return out


def interpolation_threshold(curve: list[dict[str, Any]], fit_threshold: float) -> int | None:
    for c in curve:
        e = c["train_error_labels"]["estimate"]
        if e is not None and 1 - e >= fit_threshold:
            return c["width"]
    return None


def peak_test(g: pl.DataFrame, curve: list[dict[str, Any]], preds: dict[str, np.ndarray], o: Any) -> dict[str, Any]:
    """Is there an interior width whose test error clears the best width on both sides?"""
    means = [c["test_error"]["estimate"] for c in curve]
    if len(curve) < 3 or any(m is None for m in means):
        return {"peak": False, "verdict": f"not testable: {len(curve)} width(s) with test errors (needs 3 or more)"}
    k = 1 + int(np.argmax(means[1:-1]))
    left, right = int(np.argmin(means[:k])), k + 1 + int(np.argmin(means[k + 1 :]))
    if not (means[k] > means[left] and means[k] > means[right]):
        return {
            "peak": False,
            "candidate_width": None,
            "verdict": "no peak resolved at this resolution: no interior local maximum",
        }
    level = 1 - (1 - o.level) / (2 * (len(curve) - 2))
    at = {c["width"]: g.filter(pl.col("width") == c["width"]) for c in (curve[k], curve[left], curve[right])}
    diff_left = paired(at[curve[left]["width"]], at[curve[k]["width"]], preds, preds, o, level=level)
    diff_right = paired(at[curve[right]["width"]], at[curve[k]["width"]], preds, preds, o, level=level)
    clears = [d["low"] is not None and d["low"] > 0 for d in (diff_left, diff_right)]
    w = curve[k]["width"]
    verdict = (
        f"peak at width {w}"
        if all(clears)
        else f"no peak resolved at this resolution (highest interior error at width {w} does not clear "
        f"{'both sides' if not any(clears) else ('the left side' if not clears[0] else 'the right side')})"
    )
    return {
        "peak": all(clears),
        "candidate_width": w,
        "left_width": curve[left]["width"],
        "right_width": curve[right]["width"],
        "excess_over_left": diff_left,
        "excess_over_right": diff_right,
        "level": level,
        "verdict": verdict,
    }


def _label(key: dict[str, Any]) -> str:
    noise = "random labels" if key["random_labels"] else f"label noise {key['label_noise']:g}"
    n = int(key["n_train"]) if key["n_train"] is not None else "—"
    return f"{noise}, n {n}, {int(key['epochs'] or 0)} epochs, {key['regularizer']}"


def double_descent(t: pl.DataFrame, preds: dict[str, dict[str, np.ndarray]], o: Any) -> dict[str, Any]:
    if t.height == 0:
        return {"available": False, "reason": "no finished trial in the width sweep"}
    final = preds.get("final", {})
    out = []
    for key in t.select(*OTHERS).unique(maintain_order=True).sort("random_labels", "label_noise").to_dicts():
        g = t
        for c, v in key.items():
            g = g.filter(pl.col(c) == v) if v is not None else g.filter(pl.col(c).is_null())
        curve = _curve(g, final, o)
        thr = interpolation_threshold(curve, o.fit_threshold)
        test = peak_test(g, curve, final, o)
        near = None
        if test["peak"] and thr is not None:
            widths = [c["width"] for c in curve]
            near = abs(widths.index(test["candidate_width"]) - widths.index(thr)) <= 1
        out.append(
            {
                **key,
                "label": _label(key),
                "curve": curve,
                "interpolation_threshold": thr,
                "threshold_rule": f"smallest width, mean train accuracy on its training labels ≥ {o.fit_threshold:g}",
                **test,
                "peak_within_one_width_of_threshold": near,
            }
        )
    return {"available": True, "conditions": out}
