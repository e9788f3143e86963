"""Model-wise double descent as a test, not an argmax.

How the paper measures it (Nakkiran et al. 2019, "Deep Double Descent", ICLR 2020, sec. 5): test error
against model width at fixed data and budget, for label noise 0/10/20% applied to the train labels only
(test labels clean), trained without early stopping; the peak sits near the interpolation threshold, the
smallest model that reaches ~0 train error on the (noisy) train labels (their EMC ≈ n), and the widths go
well past it.
Here, per label noise and every other factor: test error per width with nested intervals over seeds ×
test samples; the threshold = the smallest width whose mean train accuracy on its training labels is
≥ fit_threshold; the peak is tested by ``peak.peak_test`` (paired intervals, adjusted for the selection).
Three outcomes: "peak at width w"; "no peak resolved", only when the design could have shown one
(``peak.design_resolves``:
a width below the threshold, the widest interpolates and lies ≥ ``design_past_threshold``× past it); otherwise
"design cannot resolve", with its reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ...statistics import bounded, nested_interval
from .generalization import RATE, correctness, nested, over_seeds
from .peak import design_resolves, peak_test
from .trials import matching

OTHERS = ("model_family", "label_noise", "random_labels", "shuffle_pixels", "depth", "n_train", "epochs", "regularizer")


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
        return f"no peak resolved ({test['verdict']}); the design could show one: {design}"
    return f"design cannot resolve a peak: {design} ({test['verdict']})"


def _label(key: dict[str, Any]) -> str:
    noise = "random labels" if key["random_labels"] else f"label noise {key['label_noise']:g}"
    n = int(key["n_train"]) if key["n_train"] is not None else "—"
    pixels = ", shuffled pixels" if key.get("shuffle_pixels") else ""
    return f"{noise}{pixels}, n {n}, {int(key['epochs'] or 0)} epochs, {key['regularizer']}"


def double_descent(t: pl.DataFrame, preds: dict[str, dict[str, np.ndarray]], o: Any) -> dict[str, Any]:
    if t.height == 0:
        return {"available": False, "reason": "no finished trial in the width sweep"}
    final = preds.get("final", {})
    out = []
    for key in t.select(*OTHERS).unique(maintain_order=True).sort("random_labels", "label_noise").to_dicts():
        g = matching(t, key)
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
    for c in out:
        clean = next((d for d in out if d["label_noise"] == 0 and not d["random_labels"] and d is not c
                      and all(d[k] == c[k] for k in OTHERS if k not in ("label_noise", "random_labels"))), None)
        if c.get("excess_over_left") is not None and clean is not None:
            c["shrink_without_noise"] = shrink_without_noise(t, c, clean, final, o)
    return {"available": True, "conditions": out}


def shrink_without_noise(t: pl.DataFrame, noisy: dict[str, Any], clean: dict[str, Any],
                         preds: dict[str, np.ndarray], o: Any) -> dict[str, Any]:
    """Does the noisy curve's peak shrink without label noise (Nakkiran et al. 2019, Fig. 4)? At the noisy curve's
    widths (candidate, left, right): its excess − the clean curve's excess at the same widths, per seed and test
    sample, at the peak test's adjusted level (the widths were picked on the noisy data)."""
    def errors(cond: dict[str, Any]) -> dict[int, dict[int, np.ndarray]]:
        g = matching(t, {k: cond[k] for k in OTHERS})
        curve = [c for c in cond["curve"] if c["width"] in widths]
        return dict(zip([c["width"] for c in curve], _errors(g, curve, preds)))

    widths = (noisy["candidate_width"], noisy["left_width"], noisy["right_width"])
    n, c = errors(noisy), errors(clean)
    if not all(w in c for w in widths):
        return {"available": False, "reason": f"the clean curve lacks one of widths {widths}"}

    def change(side: int) -> dict[str, Any]:
        k, ref = widths[0], widths[side]
        seeds = sorted(set(n[k]) & set(n[ref]) & set(c[k]) & set(c[ref]))
        per_seed = [(n[k][s] - n[ref][s]) - (c[k][s] - c[ref][s]) for s in seeds]
        return nested_interval(per_seed, level=noisy["level"], n_resamples=o.n_bootstrap,
                               domain=bounded(-2, 2)).to_dict()

    return {"available": True, "clean_label": clean["label"], "widths": list(widths),
            "over_left": change(1), "over_right": change(2),
            "definition": "(noisy excess of the candidate width over the side's width) − (the same on clean labels)"}
