"""One row per trial, and the groups the analysis compares, keyed on declared factors (never a sweep name).

A *condition* is one setting of every factor in ``CONDITION_FACTORS``; its trials differ only in seed.
A *one-factor comparison* of factor F is a set of conditions that agree on every other factor and take
at least two values of F (the one-factor-at-a-time design of a scaling study): a ZeRO table never mixes
worker counts, a workers table never mixes engines.
"""

from __future__ import annotations

from typing import Any, Iterator

import polars as pl

from ...aggregate import with_factor_columns

CONDITION_FACTORS = ("family", "size", "dataset", "n_train", "budget_steps", "workers", "cpus_per_worker", "use_gpu",
                     "engine", "zero_stage", "precision", "micro_batch", "grad_accum", "compile")
CHIEF_METRICS = ("parameters", "train_time", "step_time_median", "step_time_mean", "samples_per_second",
                 "tokens_per_second", "mfu", "samples_total", "samples_steady", "time_warmup", "time_steady",
                 "time_eval", "device_seconds", "flops_per_step", "achieved_flops", "peak_flops_per_worker",
                 "matmul_calibration_flops", "model_states_expected", "micro_batch_used", "gradient_clipping", "steps")
HOST_LOAD = ("load_per_cpu", "cpu_steal")  # the most loaded reading of any rank, at start or end
SUMMED_OVER_DEVICES = ("energy", "energy_warmup", "energy_steady", "energy_eval", "idle_power")


def _chief_scalars(scalars: pl.DataFrame) -> pl.DataFrame:
    chief = scalars.filter((pl.col("rank") == 0) & pl.col("metric").is_in([*CHIEF_METRICS, "flops_per_sample"]))
    counted = pl.col("provenance").fill_null("").str.starts_with("flop_counter")
    name = (pl.when(pl.col("metric") != "flops_per_sample").then(pl.col("metric"))
            .when(counted).then(pl.lit("flops_per_sample_counted")).otherwise(pl.lit("flops_per_sample_analytic")))
    chief = chief.with_columns(name.alias("metric"))
    if chief.height == 0:
        return pl.DataFrame(schema={"trial_id": pl.String, "seed": pl.Int64, "factors": pl.String})
    return chief.pivot(on="metric", index=["trial_id", "seed", "factors"], values="value", aggregate_function="first")


def _device_sums(scalars: pl.DataFrame) -> pl.DataFrame:
    energy = scalars.filter(pl.col("metric").is_in(SUMMED_OVER_DEVICES))
    summed = energy.group_by("trial_id", "metric").agg(pl.col("value").sum())
    if summed.height:
        summed = summed.pivot(on="metric", index="trial_id", values="value")
    else:
        summed = pl.DataFrame({"trial_id": []}, schema={"trial_id": pl.String})
    provenance = scalars.filter(pl.col("metric") == "energy").group_by("trial_id").agg(
        pl.col("provenance").fill_null("unknown").unique().sort().str.join(",").alias("energy_provenance"))
    memory = scalars.filter(pl.col("metric") == "peak_memory_increase").group_by("trial_id").agg(
        pl.col("value").max().alias("peak_memory_increase"))
    out = summed.join(provenance, on="trial_id", how="full", coalesce=True).join(memory, on="trial_id", how="full",
                                                                                 coalesce=True)
    for metric in HOST_LOAD:
        worst = scalars.filter(pl.col("metric") == metric).group_by("trial_id").agg(pl.col("value").max().alias(metric))
        out = out.join(worst, on="trial_id", how="full", coalesce=True)
    return out


def trial_table(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per trial: chief scalars, energy summed over devices, peak memory and host load the max over ranks,
    the last test accuracy, every condition factor (null where a trial lacks it) and the engine it used."""
    scalars = rows.filter(pl.col("step").is_null())
    table = _chief_scalars(scalars).join(_device_sums(scalars), on="trial_id", how="left")
    accuracy = rows.filter((pl.col("metric") == "accuracy") & (pl.col("split") == "test")).sort("step").group_by(
        "trial_id").agg(pl.col("value").last().alias("test_accuracy"))
    table = with_factor_columns(table.join(accuracy, on="trial_id", how="left"))
    for column in (*CHIEF_METRICS, *SUMMED_OVER_DEVICES, *HOST_LOAD, "flops_per_sample_counted",
                   "flops_per_sample_analytic", "peak_memory_increase", "test_accuracy"):
        if column not in table.columns:
            table = table.with_columns(pl.lit(None, dtype=pl.Float64).alias(column))
    for column in CONDITION_FACTORS:
        if column not in table.columns:
            table = table.with_columns(pl.lit(None).alias(column))
    if "energy_provenance" not in table.columns:
        table = table.with_columns(pl.lit(None, dtype=pl.String).alias("energy_provenance"))
    engine = pl.when(pl.col("engine").is_in(["plain", "deepspeed"])).then(pl.col("engine")).when(
        pl.col("workers") == 1).then(pl.lit("plain")).otherwise(pl.lit("deepspeed"))
    per_step = pl.col("micro_batch_used").fill_null(pl.col("micro_batch")) * pl.col("workers") * pl.col("grad_accum")
    return table.with_columns(engine.alias("engine"), per_step.alias("global_batch"))


def condition_label(condition: dict[str, Any], *, only: tuple[str, ...] | None = None) -> str:
    keys = only or tuple(k for k in CONDITION_FACTORS if condition.get(k) is not None)
    return ", ".join(f"{k}={condition.get(k)}" for k in keys)


def one_factor_groups(table: pl.DataFrame, vary: str, *,
                      also_vary: tuple[str, ...] = ()) -> Iterator[tuple[dict, pl.DataFrame]]:
    """(fixed factors, trials) for each set of conditions that differ only in ``vary`` (and ``also_vary``,
    which moves with it, e.g. the micro-batch of a strong-scaling sweep) and take >= 2 values of it."""
    free = {vary, *also_vary}
    fixed = [k for k in CONDITION_FACTORS if k not in free]
    if table.height == 0:
        return
    for key, part in table.group_by(fixed, maintain_order=True):
        if part[vary].n_unique() >= 2:
            yield dict(zip(fixed, key)), part


def differing_factors(table: pl.DataFrame, vary: str) -> list[str]:
    """Factors other than ``vary`` that change across the trials (why no clean comparison exists)."""
    return [k for k in CONDITION_FACTORS if k != vary and table[k].n_unique() > 1]
