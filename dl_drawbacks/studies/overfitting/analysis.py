"""The overfitting study's findings from its aggregated rows: every section summarised per condition,
each missing section with its reason."""

from __future__ import annotations

from typing import Any

import polars as pl

from .calibration_trends import calibration_by_condition
from .calibration_trends import ece_width_slope
from .double_descent import double_descent
from .fit_time import fit_time_trend
from .generalization import gap_table, headline_conditions, memorization
from .pixel_shuffle import pixel_shuffle
from .regularization import regularization_analysis
from .trials import in_sweep, sample_predictions, trial_table, usable

GAP_DEFINITION = (
    "accuracy on the train samples whose labels were not corrupted (all of them at noise 0) − test accuracy: "
    "the same, clean label distribution; memorization rate = accuracy on the corrupted subset with its noisy labels "
    "(a separate number). Also shown: all train samples scored on their clean labels − test, which a model that "
    "memorizes the flips pushes below 0 by construction (clean-label train accuracy ≤ 1 − noise)"
)


def _size_curve(table: list[dict[str, Any]], size_conditions: set[str]) -> dict[str, Any]:
    rows = sorted((r for r in table if r["condition"] in size_conditions), key=lambda r: r["n_train"] or 0)
    if not rows:
        return {"available": False, "reason": "no finished trial in the training-size sweep"}
    return {"available": True, "conditions": rows}


def overfitting_findings(rows: pl.DataFrame, o: Any) -> dict[str, Any]:
    t = trial_table(rows, fit_threshold=o.fit_threshold)
    ok = usable(t)
    preds = sample_predictions(rows)
    base = {
        "trials": t.height,
        "diverged_trials": int(t["diverged"].sum()),
        "usable_trials": ok.height,
        "gap_definition": GAP_DEFINITION,
        "seeds": sorted(t["seed"].unique().to_list()),
        "interval_method": f"{o.level:.0%} nested intervals over seeds × test samples (Student-t over seeds + "
        f"{o.n_bootstrap} test-set bootstrap resamples, dl_drawbacks.statistics) for anything involving "
        "test predictions; Student-t over seeds for train-only numbers",
        "validation_note": "validation labels are clean; early stopping and temperature scaling are selected and "
        "fitted on them, never on the test split",
        "table": t.drop("condition").to_dicts(),
    }
    if ok.height == 0:
        reason = (
            "no trial rows"
            if t.height == 0
            else (
                "every trial diverged or failed"
                if t["diverged"].all()
                else "no trial has both its settings rows and a final evaluation"
            )
        )
        return {**base, "available": False, "reason": reason}
    table = gap_table(ok, preds, o)
    picks, design = headline_conditions(table)
    return {
        **base,
        "available": True,
        "gap": table,
        "headline_conditions": {k: v["condition"] for k, v in picks.items()},
        "headline_design": design,
        "double_descent": double_descent(in_sweep(ok, o.width_sweep), preds, o),
        "train_size": _size_curve(table, set(in_sweep(ok, o.size_sweep)["condition"].to_list())),
        "regularization": regularization_analysis(in_sweep(ok, o.regularization_sweep), preds, o),
        "memorization": memorization(in_sweep(ok, o.random_label_sweep), preds, o),
        "fit_time": fit_time_trend(in_sweep(ok, o.random_label_sweep), o),
        "pixel_shuffle": pixel_shuffle(ok, preds, o),
        "calibration": {
            "conditions": calibration_by_condition(ok, preds, o),
            "ece_width_slope": ece_width_slope(in_sweep(ok, o.width_sweep), o),
            "method": "ECE over 15 equal-width confidence bins (Guo et al. 2017, eq. 3); T fitted on validation "
            "NLL of the logits and applied to test; floor = mean ECE of a calibrated model with the "
            "same confidences and test size (labels drawn from the confidences)",
        },
    }
