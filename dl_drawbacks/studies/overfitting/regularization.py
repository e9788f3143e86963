"""Regularization ablation: each regularizer against the unregularized model at the same width, label
noise, data size and budget, on test accuracy and on the clean-label gap, each with a paired nested
interval (seeds × test samples). Ranked by test accuracy: a regularizer that closes the gap by losing
train accuracy is not better. Early stopping is post hoc: the reference trials' epoch of lowest
validation loss, scored on test (the test split never chooses the epoch)."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from .generalization import gap, paired, test_accuracy

BASE = ("width", "depth", "label_noise", "random_labels", "n_train", "epochs")
EARLY_STOPPING = "early stopping (lowest validation loss)"


def _entry(name: str, trials: pl.DataFrame, preds: dict[str, np.ndarray], train_col: str, o: Any) -> dict[str, Any]:
    return {
        "regularizer": name,
        "seeds": trials.height,
        "test_accuracy": test_accuracy(trials, preds, o),
        "gap_clean": gap(trials, preds, o, train_col),
    }


def _filter_base(t: pl.DataFrame, key: dict[str, Any]) -> pl.DataFrame:
    for c, v in key.items():
        t = t.filter(pl.col(c) == v) if v is not None else t.filter(pl.col(c).is_null())
    return t


def ablation(t: pl.DataFrame, key: dict[str, Any], preds: dict[str, dict[str, np.ndarray]], o: Any) -> dict[str, Any]:
    """One base condition: every regularizer and early stopping vs 'none', ranked by test accuracy."""
    g = _filter_base(t, key)
    final, best = preds.get("final", {}), preds.get("best_val_epoch", {})
    ref = g.filter(pl.col("regularizer") == "none")
    if ref.height == 0:
        return {**key, "available": False, "reason": "no unregularized trial at this width, noise, size and budget"}
    entries = [_entry("none", ref, final, "final_accuracy_train_uncorrupted", o)]
    es = _entry(EARLY_STOPPING, ref, best, "best_accuracy_train_uncorrupted", o)
    es["delta_test_accuracy"] = paired(ref, ref, best, final, o)
    es["delta_gap"] = paired(
        ref, ref, best, final, o, train_cols=("best_accuracy_train_uncorrupted", "final_accuracy_train_uncorrupted")
    )
    entries.append(es)
    for (name,), trials in g.filter(pl.col("regularizer") != "none").group_by("regularizer", maintain_order=True):
        e = _entry(name, trials, final, "final_accuracy_train_uncorrupted", o)
        e["delta_test_accuracy"] = paired(trials, ref, final, final, o)
        e["delta_gap"] = paired(trials, ref, final, final, o, train_cols=("final_accuracy_train_uncorrupted",) * 2)
        entries.append(e)
    ranked = sorted(
        entries,
        key=lambda e: -(e["test_accuracy"]["estimate"] if e["test_accuracy"]["estimate"] is not None else -np.inf),
    )
    return {**key, "available": True, "table": ranked, **_verdict(ranked, ref, g, preds, o)}


def _verdict(ranked: list[dict], ref: pl.DataFrame, g: pl.DataFrame, preds: dict, o: Any) -> dict[str, Any]:
    """The best by test accuracy, and whether its lead over 'none' and over the runner-up is resolved."""
    top = ranked[0]
    if top["test_accuracy"]["estimate"] is None:
        return {"best": None, "verdict": "no regularizer has a test accuracy"}
    if len(ranked) < 2:
        return {"best": top["regularizer"], "verdict": "only one entry"}
    runner = ranked[1]
    trials = {
        n: (
            (ref, preds.get("best_val_epoch", {}))
            if n == EARLY_STOPPING
            else (g.filter(pl.col("regularizer") == n), preds.get("final", {}))
        )
        for n in (top["regularizer"], runner["regularizer"])
    }
    (ta, pa), (tb, pb) = trials[top["regularizer"]], trials[runner["regularizer"]]
    lead = paired(ta, tb, pa, pb, o)
    resolved = lead["low"] is not None and lead["low"] > 0
    beats_none = (
        top["regularizer"] != "none"
        and (top.get("delta_test_accuracy") or {}).get("low") is not None
        and top["delta_test_accuracy"]["low"] > 0
    )
    word = "ahead of" if resolved else "not resolved from"
    return {
        "best": top["regularizer"],
        "lead_over_runner_up": lead,
        "runner_up": runner["regularizer"],
        "best_resolved": resolved,
        "best_beats_none": bool(beats_none),
        "verdict": f"{top['regularizer']} has the highest test accuracy, {word} {runner['regularizer']} "
        f"(paired Δ {_pct(lead)})"
        + ("" if top["regularizer"] == "none" else f"; vs none: {'better' if beats_none else 'not resolved'}"),
    }


def _pct(iv: dict[str, Any]) -> str:
    if iv.get("estimate") is None:
        return "—"
    if iv.get("low") is None:
        return f"{iv['estimate']:+.3f}"
    return f"{iv['estimate']:+.3f} [{iv['low']:+.3f}, {iv['high']:+.3f}]"


def regularization_analysis(t: pl.DataFrame, preds: dict[str, dict[str, np.ndarray]], o: Any) -> dict[str, Any]:
    if t.height == 0:
        return {"available": False, "reason": "no finished trial in the regularization sweep"}
    keys = t.select(*BASE).unique(maintain_order=True).to_dicts()
    return {
        "available": True,
        "conditions": [ablation(t, k, preds, o) for k in keys],
        "rule": "ranked by test accuracy; Δ = regularizer − none at the same width, noise, size and budget, "
        "paired by seed "
        "and test sample; early stopping = the unregularized run at its lowest-validation-loss epoch",
    }
