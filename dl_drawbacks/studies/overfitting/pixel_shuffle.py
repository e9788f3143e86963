"""Shuffled pixels are fitted too (Zhang et al. 2017, Sec. 2 and Fig. 1a: one fixed permutation of the pixels for
the whole data set; train accuracy still reaches 1, fitting is slower than on the true images, test accuracy falls).

Per condition with shuffled pixels and true labels, against its twin with the pixels in place (the same model
family, width, depth, training size, budget and regularizer, true labels): train accuracy at the end (Student-t
over seeds on the logit scale, ``over_seeds``, as the memorization finding), the seeds that fitted their training
labels (first epoch with train accuracy >= ``fit_threshold``), the median epochs to fit of each and their ratio,
the per-seed ratio (geometric mean, t over the seeds where both fitted), and test accuracy of each with the paired
change shuffled − in place (nested over seeds × test samples, ``generalization.paired``). Read from every sweep: a
twin is found by its design, whichever sweep ran it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ...statistics import POSITIVE
from .generalization import RATE, DIFFERENCE, over_seeds, paired, test_accuracy, undefined
from .trials import matching

DESIGN = ("model_family", "width", "depth", "n_train", "epochs", "regularizer")


def _median(s: pl.Series) -> float | None:
    fitted = s.drop_nulls()
    return float(fitted.median()) if fitted.len() else None


def _slowdown_per_seed(shuffled: pl.DataFrame, twin: pl.DataFrame, o: Any) -> dict[str, Any]:
    """epochs to fit shuffled / in place, paired by seed, over the seeds where both fitted."""
    true = {r["seed"]: r["epochs_to_fit"] for r in twin.iter_rows(named=True)}
    ratios = [r["epochs_to_fit"] / true[r["seed"]] for r in shuffled.iter_rows(named=True)
              if r["epochs_to_fit"] is not None and true.get(r["seed"]) is not None]
    if not ratios:
        return undefined("no seed fitted both the shuffled and the in-place images", POSITIVE)
    return over_seeds(ratios, o, POSITIVE)


def pixel_shuffle(t: pl.DataFrame, preds: dict[str, dict[str, np.ndarray]], o: Any) -> dict[str, Any]:
    """Every shuffled-pixel, true-label condition of ``t`` (usable trials) against its in-place twin."""
    true_labels = t.filter((pl.col("random_labels") == 0) & (pl.col("label_noise") == 0))
    shuffled = true_labels.filter(pl.col("shuffle_pixels") > 0)
    if shuffled.height == 0:
        return {"available": False, "reason": "no trial with shuffled pixels and true labels finished"}
    in_place = true_labels.filter(pl.col("shuffle_pixels") == 0)
    final = preds.get("final", {})
    out = []
    for values, s in shuffled.group_by(DESIGN, maintain_order=True):
        key = dict(zip(DESIGN, values))
        twin = matching(in_place, key)
        med_s, med_t = _median(s["epochs_to_fit"]), _median(twin["epochs_to_fit"])
        no_twin = "no trial with the pixels in place at this model, size and budget"
        out.append({
            **key,
            "seeds": s.height,
            "seeds_true": twin.height,
            "train_accuracy_shuffled": over_seeds(s["final_accuracy_train"], o, RATE),
            "train_accuracy_true": over_seeds(twin["final_accuracy_train"], o, RATE) if twin.height
            else undefined(no_twin, RATE),
            "seeds_fitted_shuffled": int(s["epochs_to_fit"].is_not_null().sum()),
            "seeds_fitted_true": int(twin["epochs_to_fit"].is_not_null().sum()),
            "epochs_to_fit_shuffled": med_s,
            "epochs_to_fit_true": med_t,
            "fit_slowdown": med_s / med_t if med_s and med_t else None,
            "fit_slowdown_per_seed": _slowdown_per_seed(s, twin, o),
            "test_accuracy_shuffled": test_accuracy(s, final, o),
            "test_accuracy_true": test_accuracy(twin, final, o) if twin.height else undefined(no_twin, RATE),
            "test_accuracy_change": paired(s, twin, final, final, o) if twin.height
            else undefined(no_twin, DIFFERENCE),
            "epochs_run": int(s["epochs_run"].max()) if s["epochs_run"].drop_nulls().len() else None,
        })
    return {
        "available": True,
        "conditions": out,
        "definition": f"shuffled pixels: one permutation of the spatial positions for the whole data set (train, "
        f"validation and test), true labels; fitted = reached train accuracy {o.fit_threshold:g}; twin = the same "
        "model, size and budget with the pixels in place",
        "fit_definition": "first epoch with train accuracy ≥ fit_threshold (median over seeds that reached it); "
        "per-seed slowdown: shuffled / in place, geometric mean over seeds where both fitted",
    }
