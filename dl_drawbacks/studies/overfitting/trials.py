"""One row per trial of the overfitting study (its condition, final and best-validation-epoch numbers)
and its per-test-sample predictions, from the aggregated rows alone.

A *condition* is every factor of a trial except its seed and sweep name (the planner already merged a
setting that two sweeps share into one trial), so summaries never pool trials that differ in width, label
noise, regularizer, budget or data size.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import polars as pl

PREDICTION_METRIC = "test_prediction"  # one row per test sample: +confidence if right, -confidence if wrong


SPLITS = ("train", "train_clean", "train_kept", "train_flipped", "val", "test")
SETTINGS = (
    "width",
    "depth",
    "dropout",
    "weight_decay",
    "label_noise",
    "random_labels",
    "shuffle_pixels",
    "augment",
    "augment_shift",
    "augment_noise",
    "epochs",
    "n_classes",
    "labels_changed",
    "n_flipped",
)


def _settings(rows: pl.DataFrame) -> pl.DataFrame:
    s = rows.filter(pl.col("metric") == "setting")
    wide = (
        s.pivot(on="group", index="trial_id", values="value", aggregate_function="first")
        if s.height
        else pl.DataFrame({"trial_id": rows["trial_id"].unique()})
    )
    return wide.with_columns([pl.lit(None, pl.Float64).alias(c) for c in SETTINGS if c not in wide.columns])


def _per_epoch(rows: pl.DataFrame) -> pl.DataFrame:
    ev = rows.filter(
        pl.col("metric").is_in(["loss", "accuracy"]) & pl.col("split").is_in(SPLITS) & pl.col("epoch").is_not_null()
    )
    keys = [f"{m}_{s}" for m in ("loss", "accuracy") for s in SPLITS]
    if ev.height == 0:
        return pl.DataFrame(schema={"trial_id": pl.String, "epoch": pl.Int64, **{k: pl.Float64 for k in keys}})
    wide = ev.with_columns(pl.concat_str("metric", pl.lit("_"), "split").alias("k")).pivot(
        on="k", index=["trial_id", "epoch"], values="value", aggregate_function="first"
    )
    return wide.with_columns([pl.lit(None, pl.Float64).alias(k) for k in keys if k not in wide.columns]).sort(
        "trial_id", "epoch"
    )


def _scalar(rows: pl.DataFrame, metric: str, name: str, *, provenance: str | None = None) -> pl.DataFrame:
    sel = rows.filter(pl.col("metric") == metric)
    if provenance is not None:
        sel = sel.filter(pl.col("provenance") == provenance)
    return sel.group_by("trial_id").agg(pl.col("value").first().alias(name))


def trial_conditions(rows: pl.DataFrame) -> pl.DataFrame:
    """trial_id, seed, sweep, model family and the condition key (factors without seed and sweep, canonical JSON)."""
    out = []
    for tid, seed, factors in rows.select("trial_id", "seed", "factors").unique("trial_id").iter_rows():
        f = json.loads(factors) if factors else {}
        sweep = str(f.pop("sweep", ""))
        out.append(
            {
                "trial_id": tid,
                "seed": seed,
                "sweep": sweep,
                "model_family": f.get("family"),
                "condition": json.dumps(f, sort_keys=True, separators=(",", ":"), default=str),
            }
        )
    return pl.DataFrame(
        out,
        schema={"trial_id": pl.String, "seed": pl.Int64, "sweep": pl.String, "model_family": pl.String,
                "condition": pl.String},
    )


def trial_table(rows: pl.DataFrame, *, fit_threshold: float) -> pl.DataFrame:
    """One row per trial: settings, condition, final and best-validation-epoch accuracies and losses, gaps."""
    wide = _per_epoch(rows)
    final = wide.group_by("trial_id").agg(pl.all().exclude("trial_id").sort_by("epoch").last().name.prefix("final_"))
    chosen = _scalar(rows, "best_val_epoch", "best_val_epoch").with_columns(pl.col("best_val_epoch").cast(pl.Int64))
    fallback = wide.group_by("trial_id").agg(
        pl.col("epoch").get(pl.col("loss_val").fill_null(np.inf).arg_min()).alias("argmin_epoch")
    )
    best = (
        wide.join(fallback, on="trial_id")
        .join(chosen, on="trial_id", how="left")
        .filter(pl.col("epoch") == pl.coalesce("best_val_epoch", "argmin_epoch"))
        .select("trial_id", *[pl.col(c).alias(f"best_{c}") for c in wide.columns if c != "trial_id"])
    )
    fit = (
        wide.filter(pl.col("accuracy_train") >= fit_threshold)
        .group_by("trial_id")
        .agg((pl.col("epoch").min() + 1).alias("epochs_to_fit"))
    )
    diverged = (
        rows.filter(pl.col("metric") == "diverged")
        .group_by("trial_id")
        .agg((pl.col("value").max() > 0).alias("diverged"))
    )
    t = (
        trial_conditions(rows)
        .join(_settings(rows), on="trial_id", how="left")
        .join(_scalar(rows, "train_size", "n_train"), on="trial_id", how="left")
        .join(final, on="trial_id", how="left")
        .join(best, on="trial_id", how="left")
        .join(fit, on="trial_id", how="left")
        .join(diverged, on="trial_id", how="left")
        .join(_scalar(rows, "temperature", "temperature"), on="trial_id", how="left")
        .join(_scalar(rows, "temperature_at_bound", "temperature_at_bound"), on="trial_id", how="left")
    )
    for metric in ("ece", "nll", "brier"):
        t = t.join(_scalar(rows, metric, f"{metric}_raw", provenance="calibration"), on="trial_id", how="left")
        t = t.join(_scalar(rows, metric, f"{metric}_ts", provenance="temperature_scaled"), on="trial_id", how="left")
    for when in ("final", "best"):  # train samples with correct labels: the corrupted subset excluded
        t = t.with_columns(
            pl.when(pl.col("n_flipped").fill_null(0) > 0)
            .then(pl.col(f"{when}_accuracy_train_kept"))
            .otherwise(pl.col(f"{when}_accuracy_train_clean"))
            .alias(f"{when}_accuracy_train_uncorrupted"),
            pl.when(pl.col("n_flipped").fill_null(0) > 0)
            .then(pl.col(f"{when}_loss_train_kept"))
            .otherwise(pl.col(f"{when}_loss_train_clean"))
            .alias(f"{when}_loss_train_uncorrupted"),
        )
    return t.with_columns(
        pl.col("diverged").fill_null(False),
        pl.col("shuffle_pixels").fill_null(0.0),  # rows written before the option existed: pixels in place
        (pl.col("final_accuracy_train_clean") - pl.col("final_accuracy_test")).alias("gap_clean"),
        (pl.col("final_loss_test") - pl.col("final_loss_train_uncorrupted")).alias("loss_gap_clean"),
        (pl.col("final_accuracy_train_kept") - pl.col("final_accuracy_test")).alias("gap_kept"),
        (pl.col("best_accuracy_train_clean") - pl.col("best_accuracy_test")).alias("gap_clean_best_val"),
        (pl.col("final_epoch") + 1).alias("epochs_run"),
        regularizer_label().alias("regularizer"),
        regularizer_label(strength=False).alias("regularizer_family"),
    ).sort("trial_id")


def regularizer_label(*, strength: bool = True) -> pl.Expr:
    """'none', or the regularizers a trial has on, e.g. 'dropout 0.5 + weight decay 0.5' (with ``strength``)
    or 'dropout + weight decay' (its family: the regularizers without their strengths)."""
    aug_noise = pl.col("augment_noise").fill_null(-1)
    augmentation = pl.when(aug_noise >= 0).then(
        pl.format("augmentation (shift {}, noise {})", pl.col("augment_shift").cast(pl.Int64), aug_noise.round(3))
    ).otherwise(pl.lit("augmentation"))  # rows written before the strength was recorded
    parts = [
        pl.when(pl.col("dropout").fill_null(0) > 0).then(
            pl.format("dropout {}", pl.col("dropout").round(3)) if strength else pl.lit("dropout")),
        pl.when(pl.col("weight_decay").fill_null(0) > 0).then(
            pl.format("weight decay {}", pl.col("weight_decay").round(4)) if strength else pl.lit("weight decay")
        ),
        pl.when(pl.col("augment").fill_null(0) > 0).then(augmentation if strength else pl.lit("augmentation")),
    ]
    label = pl.concat_str(parts, separator=" + ", ignore_nulls=True)
    return pl.when(label.str.len_chars().fill_null(0) == 0).then(pl.lit("none")).otherwise(label)


def matching(t: pl.DataFrame, key: dict[str, Any]) -> pl.DataFrame:
    """The trials of ``t`` whose columns hold ``key``'s values (a None value matches a null)."""
    for c, v in key.items():
        t = t.filter(pl.col(c) == v) if v is not None else t.filter(pl.col(c).is_null())
    return t


def in_sweep(t: pl.DataFrame, name: str) -> pl.DataFrame:
    return t.filter(pl.col("sweep").str.split(",").list.contains(name))


def usable(t: pl.DataFrame) -> pl.DataFrame:
    """Trials that finished without diverging, with their settings and final evaluation."""
    return t.filter(
        ~pl.col("diverged")
        & pl.col("final_accuracy_test").is_not_null()
        & pl.col("label_noise").is_not_null()
        & pl.col("random_labels").is_not_null()
    )


def sample_predictions(rows: pl.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """provenance -> trial_id -> signed confidences of the test samples, in sample order."""
    p = rows.filter(pl.col("metric") == PREDICTION_METRIC)
    if p.height == 0:
        return {}
    p = p.with_columns(pl.col("group").str.strip_prefix("sample:").cast(pl.Int64).alias("i")).sort(
        "provenance", "trial_id", "i"
    )
    out: dict[str, dict[str, np.ndarray]] = {}
    for (prov, tid), g in p.group_by("provenance", "trial_id", maintain_order=True):
        out.setdefault(prov, {})[tid] = g["value"].to_numpy()
    return out


def condition_fields(t: pl.DataFrame, condition: str) -> dict[str, Any]:
    """The settings that describe one condition (taken from its first trial)."""
    r = t.filter(pl.col("condition") == condition).row(0, named=True)
    keys = (
        "model_family",
        "width",
        "depth",
        "label_noise",
        "random_labels",
        "shuffle_pixels",
        "dropout",
        "weight_decay",
        "augment",
        "epochs",
        "n_train",
        "regularizer",
    )
    return {k: r.get(k) for k in keys}
