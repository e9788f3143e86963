"""Generalization gap and memorization, per condition (width × noise × regularizer × budget × size).

How the papers measure it. Zhang et al. 2017 ("Understanding deep learning requires rethinking
generalization", ICLR): train the same network on partially or fully randomized train labels, test labels
untouched; report train accuracy (it reaches 100% on random labels), test accuracy (chance) and the
slowdown of the time to fit. Arpit et al. 2017 split the corrupted subset out to see what is memorized.
Here the generalization gap compares the same, clean label distribution: accuracy on the train samples whose
labels were not corrupted (a uniformly drawn subset, so an i.i.d. sample of the clean distribution) minus test
accuracy, and the same for loss. Accuracy on the
corrupted subset with its *noisy* labels is the memorization rate, a separate number. All train samples scored
on their clean labels are shown too; a model that memorizes the flips has that accuracy ≤ 1 − noise by design.
Intervals: nested over seeds × test samples (dl_drawbacks.statistics) where a number involves test
accuracy (per-seed test-sample correctness is recorded), Student-t over seeds for train-only numbers.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import polars as pl

from ...statistics import POSITIVE, REAL, UNIT, Domain, bounded, nested_interval, t_interval
from .trials import condition_fields, matching

RATE = UNIT  # accuracies, errors and memorization rates: intervals on the logit scale stay inside [0, 1]
DIFFERENCE = bounded(-1, 1)  # of two accuracies
GAP_DIFFERENCE = bounded(-2, 2)  # of two generalization gaps


def undefined(reason: str, domain: Domain) -> dict[str, Any]:
    return {"estimate": None, "low": None, "high": None, "reason": reason, "domain": str(domain)}


def correctness(signed: np.ndarray) -> np.ndarray:
    return (np.asarray(signed) > 0).astype(float)


def nested(
    trials: pl.DataFrame,
    preds: dict[str, np.ndarray],
    per_sample: Callable[[dict, np.ndarray], np.ndarray],
    o: Any,
    statistic: Callable | None = None,
    domain: Domain = RATE,
) -> dict[str, Any]:
    """Nested interval over the trials' seeds × test samples of ``per_sample(trial row, signed predictions)``;
    a rate (``domain`` ``RATE``, the default) gets its interval on the logit scale, inside [0, 1]."""
    arrays = [
        per_sample(r, preds[r["trial_id"]]) for r in trials.sort("seed").iter_rows(named=True) if r["trial_id"] in preds
    ]
    arrays = [a for a in arrays if np.all(np.isfinite(a))]
    if not arrays:
        return undefined("no trial of this condition has its test-sample predictions", domain)
    return nested_interval(arrays, statistic, level=o.level, n_resamples=o.n_bootstrap, domain=domain).to_dict()


def paired(
    a: pl.DataFrame,
    b: pl.DataFrame,
    preds_a: dict[str, np.ndarray],
    preds_b: dict[str, np.ndarray],
    o: Any,
    *,
    train_cols: tuple[str, str] | None = None,
    level: float | None = None,
) -> dict[str, Any]:
    """a − b, paired by seed (same train subset and noise) and by test sample: Δ test accuracy, or with
    ``train_cols`` (a's, b's train-accuracy column) Δ gap = Δ train accuracy − Δ test accuracy."""
    domain = DIFFERENCE if train_cols is None else GAP_DIFFERENCE
    left = {r["seed"]: r for r in a.iter_rows(named=True) if r["trial_id"] in preds_a}
    right = {r["seed"]: r for r in b.iter_rows(named=True) if r["trial_id"] in preds_b}
    arrays = []
    for seed in sorted(set(left) & set(right)):
        ra, rb = left[seed], right[seed]
        diff = correctness(preds_a[ra["trial_id"]]) - correctness(preds_b[rb["trial_id"]])
        if train_cols is not None:
            train_a, train_b = ra[train_cols[0]], rb[train_cols[1]]
            diff = (train_a - train_b) - diff if train_a is not None and train_b is not None else diff * np.nan
        arrays.append(diff)
    arrays = [x for x in arrays if np.all(np.isfinite(x))]
    if not arrays:
        return undefined("no seed has both trials with test-sample predictions", domain)
    return nested_interval(arrays, level=level or o.level, n_resamples=o.n_bootstrap, domain=domain).to_dict()


def over_seeds(values: Any, o: Any, domain: Domain) -> dict[str, Any]:
    """Student-t over seeds on the scale of ``domain`` (``RATE``: logit; ``POSITIVE``/``COUNT``: log)."""
    v = [x for x in values if x is not None and np.isfinite(x)]
    if not v:
        return undefined("no finite value in any seed", domain)
    return t_interval(v, domain=domain, level=o.level, over="seeds").to_dict()


def test_accuracy(trials: pl.DataFrame, preds: dict[str, np.ndarray], o: Any) -> dict[str, Any]:
    return nested(trials, preds, lambda r, s: correctness(s), o)


def gap(trials: pl.DataFrame, preds: dict[str, np.ndarray], o: Any, train_col: str) -> dict[str, Any]:
    """train accuracy (``train_col``, clean labels) − test accuracy, nested over seeds × test samples."""
    return nested(
        trials, preds, lambda r, s: (r[train_col] if r[train_col] is not None else np.nan) - correctness(s), o,
        domain=DIFFERENCE,  # a difference of accuracies, in [-1, 1]
    )


def condition_summary(t: pl.DataFrame, cond: str, preds: dict[str, dict[str, np.ndarray]], o: Any) -> dict[str, Any]:
    """Everything about the gap and memorization of one condition."""
    g = t.filter(pl.col("condition") == cond)
    final, best = preds.get("final", {}), preds.get("best_val_epoch", {})
    noisy = bool(g["n_flipped"].fill_null(0).max() or 0)
    out = {
        "condition": cond,
        **condition_fields(t, cond),
        "seeds": g.height,
        "test_accuracy": test_accuracy(g, final, o),
        "train_accuracy_clean": over_seeds(g["final_accuracy_train_clean"], o, RATE),
        "train_accuracy_labels": over_seeds(g["final_accuracy_train"], o, RATE),
        "train_accuracy_uncorrupted": over_seeds(g["final_accuracy_train_uncorrupted"], o, RATE),
        "gap_clean": gap(g, final, o, "final_accuracy_train_uncorrupted"),
        "gap_all_clean_labels": gap(g, final, o, "final_accuracy_train_clean"),
        "loss_gap_clean": over_seeds(g["loss_gap_clean"], o, REAL),
        "gap_clean_best_val": gap(g, best, o, "best_accuracy_train_uncorrupted"),
        "test_accuracy_best_val": test_accuracy(g, best, o),
        "early_stop_epoch": over_seeds((g["best_epoch"].cast(pl.Float64) + 1).to_list(), o, POSITIVE),
        "epochs_run": int(g["epochs_run"].max()) if g["epochs_run"].drop_nulls().len() else None,
    }
    if noisy:
        out["memorization_rate"] = over_seeds(g["final_accuracy_train_flipped"], o, RATE)
    else:
        reason = "no train label was changed in this condition"
        out["memorization_rate"] = undefined(reason, RATE)
    return out


def gap_table(t: pl.DataFrame, preds: dict[str, dict[str, np.ndarray]], o: Any) -> list[dict[str, Any]]:
    conds = t.sort("random_labels", "label_noise", "width", "n_train", "epochs", "regularizer")["condition"].unique(
        maintain_order=True
    )
    return [condition_summary(t, c, preds, o) for c in conds]


def _design(r: dict[str, Any]) -> tuple[float, float, float, str]:
    """(width, n, epochs, model family): two families at one width are two designs, never one overwriting the other."""
    sizes = tuple(float(x) if x is not None else -1.0 for x in (r["width"], r["n_train"], r["epochs"]))
    return (*sizes, r.get("model_family") or "")


def headline_conditions(table: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """(noise level -> its unregularized true-label condition, the design point they share). The point is the
    largest (width, n, budget; one model family) that every noise level has, so headline gaps compare noise levels
    at the same training-set size; with none shared, each level's largest, and ``shared`` False says they are not
    comparable. Shuffled-pixel conditions are left out (their own finding is pixel_shuffle)."""
    by_noise: dict[str, dict[tuple, dict[str, Any]]] = {}
    for r in table:
        if not r["random_labels"] and not r.get("shuffle_pixels") and r["regularizer"] == "none":
            by_noise.setdefault(f"{r['label_noise']:g}", {})[_design(r)] = r
    if not by_noise:
        return {}, {"shared": False, "note": "no unregularized true-label condition"}
    common = set.intersection(*(set(d) for d in by_noise.values()))
    order = sorted(by_noise, key=float)
    if common:
        point = max(common)
        picks = {k: by_noise[k][point] for k in order}
        model = f"{point[3]} " if point[3] else ""
        note = f"every label-noise level at {model}width {point[0]:g}, n {point[1]:g}, {point[2]:g} epochs"
    else:
        picks = {k: by_noise[k][max(by_noise[k])] for k in order}
        note = "no (width, n, epochs, model) is shared by every label-noise level: their gaps are not comparable"
    return picks, {"shared": bool(common), "note": note}


def memorization(t: pl.DataFrame, preds: dict[str, dict[str, np.ndarray]], o: Any) -> dict[str, Any]:
    """Random labels vs true labels at the same width, size and budget (Zhang et al. 2017, Fig. 1a and Table 1)."""
    rand = t.filter(pl.col("random_labels") > 0)
    if rand.height == 0:
        return {"available": False, "reason": "no random-label trial finished"}
    out = []
    base_cols = ["model_family", "width", "depth", "shuffle_pixels", "n_train", "epochs", "regularizer"]
    for key, r in rand.group_by(base_cols, maintain_order=True):
        true_labels = t.filter((pl.col("random_labels") == 0) & (pl.col("label_noise") == 0))
        true = matching(true_labels, dict(zip(base_cols, key)))
        chance = 1.0 / float(r["n_classes"][0])
        fit_r, fit_t = r["epochs_to_fit"].drop_nulls(), true["epochs_to_fit"].drop_nulls()
        med_r = float(fit_r.median()) if fit_r.len() else None
        med_t = float(fit_t.median()) if fit_t.len() else None
        out.append(
            {
                **dict(zip(base_cols, key)),
                "seeds": r.height,
                "chance": chance,
                "train_accuracy_random": over_seeds(r["final_accuracy_train"], o, RATE),
                "memorization_ratio": over_seeds(((r["final_accuracy_train"] - chance) / (1 - chance)).to_list(), o,
                                                 bounded(-chance / (1 - chance), 1)),
                "test_accuracy_random": test_accuracy(r, preds.get("final", {}), o),
                "test_accuracy_true": (
                    test_accuracy(true, preds.get("final", {}), o) if true.height
                    else undefined("no true-label twin", RATE)
                ),
                "fitted_random": f"{fit_r.len()} of {r.height}",
                "fitted_true": f"{fit_t.len()} of {true.height}",
                "epochs_to_fit_random": med_r,
                "epochs_to_fit_true": med_t,
                "fit_slowdown": med_r / med_t if med_r and med_t else None,
                "epochs_run": int(r["epochs_run"].max()) if r["epochs_run"].drop_nulls().len() else None,
            }
        )
    return {
        "available": True,
        "conditions": out,
        "ratio_definition": "(train accuracy − chance) / (1 − chance) on shuffled labels; 1 = all fitted",
        "fit_definition": "first epoch with train accuracy ≥ fit_threshold (median over seeds that reached it)",
    }
