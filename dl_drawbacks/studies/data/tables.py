"""From the aggregated rows to one ``Curve`` per learner: the DL models' trials (test correctness at the
early-stopping step) and the baselines (test correctness at their own validation-selected setting)."""

from __future__ import annotations

import numpy as np
import polars as pl

from .anchors import Curve

SAMPLE_SEP = "/sample:"


def trial_table(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per DL trial: trial id, model key (family/size plus any other swept factor), n, seed, diverged."""
    from ...aggregate import with_factor_columns

    size = rows.filter(pl.col("metric") == "train_size").select("trial_id", pl.col("value").alias("n"))
    meta = (
        rows.filter(pl.col("metric") == "steps").select("trial_id", "seed", "factors").unique("trial_id", keep="first")
    )
    div = (
        rows.filter(pl.col("metric") == "diverged")
        .group_by("trial_id")
        .agg((pl.col("value").max() > 0).alias("diverged"))
    )
    table = with_factor_columns(meta.join(size, on="trial_id").join(div, on="trial_id", how="left"))
    skip = {"trial_id", "seed", "factors", "n", "diverged", "n_train", "sweep", "family", "size"}
    extra = [c for c in table.columns if c not in skip]
    family = pl.col("family") if "family" in table.columns else pl.lit("model")
    size_col = pl.col("size") if "size" in table.columns else pl.lit("")
    # a factor one family lacks (the MLP's width next to a CNN's flavour) is left out of that family's key
    parts = [pl.when(pl.col(c).is_not_null()).then(pl.format(f" {c}={{}}", pl.col(c))).otherwise(pl.lit(""))
             for c in extra]
    key = pl.concat_str([family, pl.lit("/"), size_col, *parts])
    return table.with_columns(key.alias("model"), pl.col("diverged").fill_null(False)).drop("factors")


def correctness(rows: pl.DataFrame) -> pl.DataFrame:
    """Per (trial, learner): the test-sample correctness vector, ordered by sample index."""
    c = rows.filter(pl.col("metric") == "test_correct")
    if c.height == 0:
        return pl.DataFrame(schema={"trial_id": pl.String, "learner": pl.String, "correct": pl.List(pl.Float64)})
    parts = c.with_columns(pl.col("group").str.split(SAMPLE_SEP).alias("_p"))
    parts = parts.with_columns(
        pl.col("_p").list.get(0).alias("learner"), pl.col("_p").list.get(1).cast(pl.Int64).alias("sample")
    )
    return (
        parts.sort("sample").group_by("trial_id", "learner", maintain_order=True).agg(pl.col("value").alias("correct"))
    )


def _curve(frame: pl.DataFrame) -> Curve:
    """A Curve from rows (n, seed, correct list | None, error); per-sample correctness when every row has it."""
    lengths = {len(c) for c in frame["correct"].to_list() if c is not None} if "correct" in frame.columns else set()
    if len(lengths) == 1 and frame["correct"].null_count() == 0:
        return Curve.from_correct(frame["n"].to_numpy(), frame["seed"].to_numpy(), np.array(frame["correct"].to_list()))
    return Curve.from_errors(frame["n"].to_numpy(), frame["seed"].to_numpy(), frame["error"].to_numpy())


def dl_curves(
    trials: pl.DataFrame, corr: pl.DataFrame, rows: pl.DataFrame, selection: pl.DataFrame
) -> dict[str, Curve]:
    """Per DL model key, its curve over the trials that did not diverge."""
    ok = trials.filter(~pl.col("diverged")).join(
        selection.select("trial_id", "selected_step"), on="trial_id", how="left"
    )
    acc = rows.filter((pl.col("metric") == "accuracy") & (pl.col("split") == "test")).select(
        "trial_id", pl.col("step").alias("selected_step"), (1 - pl.col("value")).alias("error")
    )
    mine = corr.filter(pl.col("learner") == "model").select("trial_id", "correct")
    table = ok.join(acc, on=["trial_id", "selected_step"], how="left").join(mine, on="trial_id", how="left")
    table = table.with_columns(
        pl.when(pl.col("correct").is_not_null())
        .then(1 - pl.col("correct").list.mean())
        .otherwise(pl.col("error"))
        .alias("error")
    ).filter(pl.col("error").is_not_null())
    return {m: _curve(part) for (m,), part in table.group_by("model", maintain_order=True)}


def baseline_curves(trials: pl.DataFrame, corr: pl.DataFrame, rows: pl.DataFrame) -> dict[str, Curve]:
    """Per baseline, its curve: DL trials of different models share each (n, seed) subsample, so the first is kept."""
    meta = trials.select("trial_id", "n", "seed")
    err = rows.filter((pl.col("metric") == "error") & pl.col("group").str.starts_with("baseline:")).select(
        "trial_id", pl.col("group").alias("learner"), pl.col("value").alias("error")
    )
    table = err.join(corr, on=["trial_id", "learner"], how="left").join(meta, on="trial_id").sort("trial_id")
    table = table.unique(["learner", "n", "seed"], keep="first", maintain_order=True).filter(
        pl.col("error").is_not_nan()
    )
    return {
        name.removeprefix("baseline:"): _curve(part.sort("n", "seed"))
        for (name,), part in table.group_by("learner", maintain_order=True)
    }
