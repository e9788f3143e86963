"""Model-wise double descent as a test, not an argmax.

How the paper measures it (Nakkiran et al. 2019, "Deep Double Descent", ICLR 2020, sec. 5): test error
against model width at fixed data and budget, for label noise 0/10/20% applied to the train labels only
(test labels clean), trained without early stopping; the peak sits near the interpolation threshold, the
smallest model that reaches ~0 train error on the (noisy) train labels (their EMC ≈ n), and the widths go
well past it.
Here, per label noise and every other factor: test error per width with nested intervals over seeds ×
test samples; the threshold = the smallest width whose mean train accuracy on its training labels is
≥ fit_threshold; the peak is tested by ``peak.peak_test`` (paired intervals, adjusted for the selection).
Three outcomes: "peak at width w"; "no peak", only when the design could have shown one (``peak.design_resolves``:
a width below the threshold, the widest interpolates and lies ≥ ``design_past_threshold``× past it); otherwise
"design cannot resolve", with its reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from .generalization import RATE, correctness, nested, over_seeds
from .peak import design_resolves, peak_test

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
                "train_accuracy_labels_mean": float(part["final_accuracy_train"].mean()),
            }
        )
    return out


def interpolation_threshold(curve: list[dict[str, Any]], fit_threshold: float) -> int | None:
    """The smallest width whose mean train accuracy on its training labels is ≥ ``fit_threshold``."""
    for c in curve:
        if (c["train_accuracy_labels_mean"] or 0.0) >= fit_threshold:
            return c["width"]
    return None


def _errors(g: pl.DataFrame, curve: list[dict[str, Any]], preds: dict[str, np.ndarray]) -> list[dict[int, np.ndarray]]:
    """Per width of the curve: seed -> 0/1 test-sample errors."""
    return [
        {r["seed"]: 1 - correctness(preds[r["trial_id"]])
         for r in g.filter(pl.col("width") == c["width"]).iter_rows(named=True) if r["trial_id"] in preds}
        for c in curve
    ]


def verdict(test: dict[str, Any], resolves: bool, design: str) -> str:
    if test["peak"] or test["verdict"].startswith("not testable"):
        return test["verdict"]
    if resolves:
        return f"no peak ({test['verdict']}); the design could show one: {design}"
    return f"design cannot resolve a peak: {design} ({test['verdict']})"


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
        widths = [c["width"] for c in curve]
        thr = interpolation_threshold(curve, o.fit_threshold)
        test = peak_test(widths, _errors(g, curve, final), level=o.level, n_resamples=o.n_bootstrap)
        resolves, design = design_resolves(widths, [c["train_accuracy_labels_mean"] for c in curve], thr,
                                           fit_threshold=o.fit_threshold, past=o.design_past_threshold)
        near = None
        if test["peak"] and thr is not None:
            near = abs(widths.index(test["candidate_width"]) - widths.index(thr)) <= 1
        out.append(
            {
                **key,
                "label": _label(key),
                "curve": curve,
                "interpolation_threshold": thr,
                "threshold_rule": f"smallest width, mean train accuracy on its training labels ≥ {o.fit_threshold:g}",
                **test,
                "design_resolves": resolves,
                "design": design,
                "verdict": verdict(test, resolves, design),
                "peak_within_one_width_of_threshold": near,
            }
        )
    return {"available": True, "conditions": out}
