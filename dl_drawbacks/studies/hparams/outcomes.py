"""One row per trial of a hyperparameter study: its configuration, outcome and cost.

The objective is validation accuracy at the trial's last evaluation (the held-out ``val`` split;
the test split is never used to choose). Outcomes: ``completed``; ``stopped_early`` (ASHA; its
partial curve is kept); ``diverged`` (NaN/inf loss, or a final train loss above ``explode_factor``
times the first: exploding) — a diverged trial scores chance accuracy (the majority class share
of ``val``), since that is what its model is worth.
"""

from __future__ import annotations

import polars as pl

from ...aggregate import with_factor_columns

FACTOR_COLUMNS = ("sweep", "task", "config_id", "varied")  # present in every table, null where a trial has none


def _scalar(rows: pl.DataFrame, metric: str, name: str, how: str = "first") -> pl.DataFrame:
    part = rows.filter((pl.col("metric") == metric) & (pl.col("rank") == 0))
    agg = {"first": pl.col("value").first(), "sum": pl.col("value").sum(), "max": pl.col("value").max()}[how]
    return part.group_by("trial_id").agg(agg.alias(name))


def trial_outcomes(rows: pl.DataFrame, *, explode_factor: float = 10.0) -> pl.DataFrame:
    evals = rows.filter((pl.col("metric") == "accuracy") & pl.col("step").is_not_null()).sort("step")
    val = (
        evals.filter(pl.col("split") == "val")
        .group_by("trial_id")
        .agg(
            pl.col("value").last().alias("val_last"),
            pl.col("value").first().alias("first_rung"),
            pl.len().alias("evals"),
        )
    )
    test = (
        evals.filter(pl.col("split") == "test").group_by("trial_id").agg(pl.col("value").last().alias("test_accuracy"))
    )
    train = (
        rows.filter((pl.col("metric") == "loss") & (pl.col("split") == "train_batch"))
        .sort("step")
        .group_by("trial_id")
        .agg(pl.col("value").first().alias("loss_first"), pl.col("value").last().alias("loss_last"))
    )
    base = rows.select("trial_id", "seed", "factors").unique("trial_id")
    table = base
    for frame in (
        val,
        test,
        train,
        _scalar(rows, "diverged", "nan_diverged", "max"),
        _scalar(rows, "stopped_early", "stopped_early", "max"),
        _scalar(rows, "chance_accuracy", "chance"),
        _scalar(rows, "steps", "steps"),
        _scalar(rows, "steps_planned", "steps_planned"),
        _scalar(rows, "wall_time_to_end", "wall_s"),
        _scalar(rows, "device_seconds", "train_s"),
        rows.filter(pl.col("metric") == "energy")
        .group_by("trial_id")
        .agg(pl.col("value").sum().alias("energy_j"), pl.col("provenance").first().alias("energy_provenance")),
    ):
        table = table.join(frame, on="trial_id", how="left")
    exploded = (
        pl.col("loss_last").is_nan()
        | ~pl.col("loss_last").is_finite()
        | (pl.col("loss_last") > explode_factor * pl.col("loss_first"))
    )
    status = (
        pl.when(pl.col("nan_diverged").fill_null(0) > 0)
        .then(pl.lit("diverged"))
        .when(exploded.fill_null(False))
        .then(pl.lit("diverged"))
        .when(pl.col("stopped_early").fill_null(0) > 0)
        .then(pl.lit("stopped_early"))
        .otherwise(pl.lit("completed"))
    )
    table = table.with_columns(status.alias("status"))
    table = table.with_columns(
        pl.when(pl.col("status") == "diverged").then(pl.col("chance")).otherwise(pl.col("val_last")).alias("objective"),
        pl.when(pl.col("status") != "diverged")
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("nan_diverged").fill_null(0) > 0)
        .then(pl.lit("nan_or_inf"))
        .otherwise(pl.lit("exploding"))
        .alias("divergence"),
    )
    table = with_factor_columns(table)
    missing = [c for c in FACTOR_COLUMNS if c not in table.columns]
    return table.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in missing]).sort("trial_id")


def val_curves(rows: pl.DataFrame) -> pl.DataFrame:
    """Validation accuracy at each evaluation of each trial: ``eval`` 1, 2, ... is the rung index
    (one Tune report per evaluation, so ASHA's rung r is the r-th evaluation)."""
    val = rows.filter(
        (pl.col("metric") == "accuracy")
        & (pl.col("split") == "val")
        & pl.col("step").is_not_null()
        & (pl.col("rank") == 0)
    )
    return (
        val.sort("step")
        .with_columns(pl.int_range(1, pl.len() + 1).over("trial_id").alias("eval"))
        .select("trial_id", "eval", pl.col("value").alias("val_accuracy"))
    )


def objectives(run_dir, study: str, *, explode_factor: float = 10.0) -> pl.DataFrame:
    """The outcome table of a run folder's finished trials of ``study`` (driver side, during a run)."""
    from ...aggregate import load_rows

    rows = load_rows(run_dir, study)
    if rows.height == 0:
        return pl.DataFrame()
    return trial_outcomes(rows, explode_factor=explode_factor)
