"""Regularization ablation with every regularizer's strength tuned on validation before it is ranked on test.

Method: hold-out selection of a hyperparameter on a validation split and evaluation on an untouched test split
(Hastie, Tibshirani & Friedman, ESL 2nd ed. §7.2; Prechelt 1998 for early stopping chosen on validation).
Per base condition (model family, width, label noise, pixels shuffled or not, data size, budget) and per
regularizer family (dropout, weight decay, augmentation, or a combination), each seed keeps the strength with
the lowest final validation loss among the family's grid and strength 0 (the unregularized run of that seed),
the criterion early stopping uses to pick its epoch (lowest validation loss, per seed). The tuned families,
early stopping and 'none' are then scored on test: test accuracy and the clean-label gap, each with a paired
nested interval (seeds × test samples) against 'none', ranked by test accuracy (a regularizer that closes the
gap by losing train accuracy is not better).
The test split never chooses a strength or an epoch; per-strength test accuracies are not reported.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from .generalization import gap, paired, test_accuracy
from .trials import matching

BASE = ("model_family", "width", "depth", "label_noise", "random_labels", "shuffle_pixels", "n_train", "epochs")
EARLY_STOPPING = "early stopping (epoch of lowest validation loss)"
SELECT_ON = "final_loss_val"
STRENGTHS = ("dropout", "weight_decay", "augment_noise", "augment_shift")


def tune_on_validation(family: pl.DataFrame, ref: pl.DataFrame) -> pl.DataFrame:
    """Per seed, the trial of lowest final validation loss among ``family`` (its strengths) and ``ref`` (strength 0)."""
    seeds = set(family["seed"].to_list())
    pool = pl.concat([ref.filter(pl.col("seed").is_in(seeds)), family], how="diagonal_relaxed")
    return (
        pool.with_columns(pl.col(SELECT_ON).fill_null(np.inf).alias("_criterion"))
        .sort("seed", "_criterion", "regularizer")
        .group_by("seed", maintain_order=True)
        .first()
        .drop("_criterion")
    )


def _grid(family: pl.DataFrame, ref: pl.DataFrame, chosen: pl.DataFrame) -> list[dict[str, Any]]:
    """Each candidate strength (0 = 'none' included) with its validation numbers and how often it was kept."""
    pool = pl.concat([ref.filter(pl.col("seed").is_in(family["seed"].unique())), family], how="diagonal_relaxed")
    pool = pool.sort(*[pl.col(c).fill_null(0) for c in STRENGTHS])  # 'none' first, then ascending strength
    picked = chosen["regularizer"].value_counts().rows()
    counts = dict(picked)
    out = []
    for (label,), g in pool.group_by("regularizer", maintain_order=True):
        out.append({
            "strength": label,
            "seeds": g.height,
            "val_loss_mean": g[SELECT_ON].mean(),
            "val_accuracy_mean": g["final_accuracy_val"].mean(),
            "selected_in_seeds": counts.get(label, 0),
        })
    return out


def _entry(name: str, trials: pl.DataFrame, preds: dict[str, np.ndarray], train_col: str, o: Any) -> dict[str, Any]:
    return {
        "regularizer": name,
        "seeds": trials.height,
        "test_accuracy": test_accuracy(trials, preds, o),
        "gap_clean": gap(trials, preds, o, train_col),
    }


def ablation(t: pl.DataFrame, key: dict[str, Any], preds: dict[str, dict[str, np.ndarray]], o: Any) -> dict[str, Any]:
    """One base condition: each tuned regularizer family and early stopping vs 'none', ranked by test accuracy."""
    g = matching(t, key)
    final, best = preds.get("final", {}), preds.get("best_val_epoch", {})
    ref = g.filter(pl.col("regularizer") == "none")
    if ref.height == 0:
        return {**key, "available": False, "reason": "no unregularized trial at this width, noise, size and budget"}
    scored = {"none": (ref, final), EARLY_STOPPING: (ref, best)}  # name -> (one trial per seed, its predictions)
    entries = [_entry("none", ref, final, "final_accuracy_train_uncorrupted", o)]
    es = _entry(EARLY_STOPPING, ref, best, "best_accuracy_train_uncorrupted", o)
    es["delta_test_accuracy"] = paired(ref, ref, best, final, o)
    es["delta_gap"] = paired(
        ref, ref, best, final, o, train_cols=("best_accuracy_train_uncorrupted", "final_accuracy_train_uncorrupted")
    )
    entries.append(es)
    for (name,), family in g.filter(pl.col("regularizer") != "none").group_by("regularizer_family",
                                                                             maintain_order=True):
        chosen = tune_on_validation(family, ref)
        scored[name] = (chosen, final)
        e = _entry(name, chosen, final, "final_accuracy_train_uncorrupted", o)
        e["grid"] = _grid(family, ref, chosen)
        e["selected"] = dict(zip(chosen["seed"].to_list(), chosen["regularizer"].to_list()))
        e["delta_test_accuracy"] = paired(chosen, ref, final, final, o)
        e["delta_gap"] = paired(chosen, ref, final, final, o, train_cols=("final_accuracy_train_uncorrupted",) * 2)
        entries.append(e)
    ranked = sorted(
        entries,
        key=lambda e: -(e["test_accuracy"]["estimate"] if e["test_accuracy"]["estimate"] is not None else -np.inf),
    )
    return {**key, "available": True, "table": ranked, **_verdict(ranked, scored, o)}


def _verdict(ranked: list[dict], scored: dict[str, tuple[pl.DataFrame, dict]], o: Any) -> dict[str, Any]:
    """The best by test accuracy, and whether its lead over 'none' and over the runner-up is resolved."""
    top = ranked[0]
    if top["test_accuracy"]["estimate"] is None:
        return {"best": None, "verdict": "no regularizer has a test accuracy"}
    if len(ranked) < 2:
        return {"best": top["regularizer"], "verdict": "only one entry"}
    runner = ranked[1]
    (ta, pa), (tb, pb) = scored[top["regularizer"]], scored[runner["regularizer"]]
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
        "rule": "each regularizer family's strength chosen per seed on validation (lowest final validation loss, "
        "strength 0 = the unregularized run included), as early stopping chooses its epoch; then ranked by test "
        "accuracy; Δ = tuned regularizer − none at the same width, noise, size and budget, paired by seed and "
        "test sample. The test split never selects",
    }
