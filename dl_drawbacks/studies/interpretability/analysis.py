"""Analysis of the interpretability study's rows, one summary per condition (model size × training length),
never pooled over conditions; a condition enters the headlines only when its clean models reach
``min_accuracy``, and the findings say which did not.

How the literature measures what is summarised here (each followed in the named module):
- Sanity (Adebayo et al. 2018, NeurIPS, "Sanity Checks for Saliency Maps"): cascading re-initialisation of
  the layers from the output down, and a model trained on permuted labels; similarity of the maps to the
  trained model's by Spearman rank correlation of |maps| (and SSIM). Here both are judged against the
  similarity of an independently trained model of the same architecture (``sanity.py``).
- ROAR (Hooker et al. 2019, NeurIPS, "A Benchmark for Interpretability Methods in Deep Neural Networks"):
  remove the top-t% features by attribution from train and test images (replace by the per-channel mean),
  retrain, and compare the accuracy drop with a random ranking, at t in {10, ..., 90}% (``roar.py`` degrades
  the data of a ROAR trial, ``roar_summary.py`` summarises its curves and gains over random).
- Metric sanity (Tomsett et al. 2020, AAAI, "Sanity Checks for Saliency Metrics"): perturbation metrics
  depend on the replacement value and rank methods inconsistently; report several baselines apart.
- Deletion/insertion (Petsiuk et al. 2018, RISE; Samek et al. 2017, region perturbation / AOPC): probability
  of the explained class as features are removed (inserted) in attribution order, area under the curve,
  against a random order (``faithfulness.py``).
- captum ``infidelity`` and ``sensitivity_max`` (Yeh et al. 2019; ``robustness.py``).
Intervals come from ``dl_drawbacks.statistics``: Student-t over seeds for per-trial values; nested (t over
seeds + bootstrap over explained samples) where the rows keep one value per explained sample.
"""

from __future__ import annotations

import math
from statistics import median
from typing import Any

import polars as pl

from ...aggregate import with_factor_columns
from .roar_summary import roar_summary
from ...statistics import UNIT
from .summaries import audit_summary, over_seeds, planted_summary, price_summary

SETTING = ("family", "size", "steps", "epochs", "n_train")


def _final_accuracy(rows: pl.DataFrame) -> pl.DataFrame:
    acc = (
        rows.filter((pl.col("metric") == "accuracy") & pl.col("step").is_not_null())
        .sort("step")
        .group_by("trial_id", "split")
        .agg(pl.col("value").last())
    )
    if acc.height == 0:
        return pl.DataFrame({"trial_id": []}, schema={"trial_id": pl.String})
    acc = acc.pivot(on="split", index="trial_id", values="value")
    return acc.rename({c: f"network_accuracy_{c}" for c in acc.columns if c != "trial_id"})


def _scalar(rows: pl.DataFrame, metric: str, name: str) -> pl.DataFrame:
    return rows.filter(pl.col("metric") == metric).group_by("trial_id").agg(pl.col("value").first().alias(name))


def trial_frame(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per trial: condition columns, role (planted/clean/roar), parameters, final accuracies, patch flips."""
    base = rows.select("trial_id", "seed", "factors").unique("trial_id")
    table = base
    for part in (
        _scalar(rows, "parameters", "parameters"),
        _scalar(rows, "planted_fraction", "planted_fraction"),
        _scalar(rows, "patch_removal_flips", "patch_removal_flips"),
        _scalar(rows, "patch_follows_wrong", "patch_follows_wrong"),
        _scalar(rows, "patch_weight_change", "patch_weight_change"),
        _scalar(rows, "roar_fraction", "roar_share"),
        _final_accuracy(rows),
    ):
        table = table.join(part, on="trial_id", how="left")
    table = with_factor_columns(table)
    for col in (
        *SETTING,
        "parameters",
        "planted_fraction",
        "patch_removal_flips",
        "patch_follows_wrong",
        "patch_weight_change",
        "roar_share",
        "network_accuracy_test",
        "network_accuracy_test_planted",
        "network_accuracy_test_patch_random",
    ):
        if col not in table.columns:
            table = table.with_columns(pl.lit(None).alias(col))
    condition = pl.concat_str(
        [pl.lit(f"{c}=") + pl.col(c).cast(pl.String).fill_null("-") for c in SETTING[1:]], separator=" "
    )
    role = (
        pl.when(pl.col("roar_share").is_not_null())
        .then(pl.lit("roar"))
        .when(pl.col("planted_fraction").fill_null(0) > 0)
        .then(pl.lit("planted"))
        .otherwise(pl.lit("clean"))
    )
    return table.with_columns(condition.alias("condition"), role.alias("role")).sort("condition", "role", "seed")


def _finite_median(values: pl.Series) -> float | None:
    finite = [v for v in values.to_list() if v is not None and math.isfinite(v)]
    return float(median(finite)) if finite else None


def _condition(rows: pl.DataFrame, part: pl.DataFrame, options: Any) -> dict[str, Any]:
    level = options.confidence
    clean, planted = part.filter(pl.col("role") == "clean"), part.filter(pl.col("role") == "planted")
    roar = part.filter(pl.col("role") == "roar")
    judged = clean if clean.height else planted  # the accuracy that decides whether the condition is trained enough
    accuracy = over_seeds(judged["network_accuracy_test"].to_list(), level, UNIT)
    first = part.row(0, named=True)
    entry = {
        "condition": first["condition"],
        **{c: first[c] for c in SETTING},
        "parameters": _finite_median(part["parameters"]),
        "seeds": {"clean": clean.height, "planted": planted.height, "roar_trials": roar.height},
        "accuracy": accuracy,
        "accuracy_of": "clean models" if clean.height else "planted models (no clean trial)",
    }
    mean = accuracy["estimate"]
    entry["eligible"] = bool(mean is not None and mean >= options.min_accuracy)
    entry["planted"] = planted_summary(rows, clean, planted, level)
    entry["audit"] = audit_summary(rows, clean, level)
    entry["price_of_interpretability"] = price_summary(rows, clean, level)
    entry["roar"] = roar_summary(rows, clean, roar, level)
    return entry


def _headline_condition(conditions: list[dict[str, Any]]) -> str | None:
    eligible = [c for c in conditions if c["eligible"]]
    if not eligible:
        return None
    return max(eligible, key=lambda c: (c["accuracy"]["estimate"], c["parameters"] or 0))["condition"]


def analyze_rows(rows: pl.DataFrame, options: Any) -> dict[str, Any]:
    trials = trial_frame(rows)
    conditions = [_condition(rows, part, options) for _, part in trials.group_by("condition", maintain_order=True)]
    conditions.sort(key=lambda c: (c["parameters"] or 0, c["steps"] or 0, c["epochs"] or 0, c["condition"]))
    excluded = [
        {"condition": c["condition"], "accuracy": c["accuracy"]["estimate"]} for c in conditions if not c["eligible"]
    ]
    return {
        "trials": trials.height,
        "intervals": f"{options.confidence:.0%} Student-t over the seeds of a condition for per-trial values; nested "
        "(t over seeds + bootstrap over the explained test samples) for per-sample values",
        "min_accuracy": options.min_accuracy,
        "conditions": conditions,
        "headline_condition": _headline_condition(conditions),
        "excluded_conditions": excluded,
        "table": trials.drop("factors").to_dicts(),
    }
