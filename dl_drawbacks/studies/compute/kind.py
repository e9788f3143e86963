"""Study 1 — computational cost: how training time, energy, memory, CO2e and money grow with
model size, workers, ZeRO stage and precision."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from .scaling import PowerLawFit, scaling_efficiency
from ...registry import STUDIES
from . import figures as compute_figures
from ..base import StudyKind

TABLE_METRICS = ("parameters", "train_time", "step_time_median", "samples_per_second", "tokens_per_second", "mfu",
                 "samples_total", "device_seconds", "achieved_flops", "peak_flops_per_worker")


class ComputeOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    target_accuracy: float | None = Field(None, gt=0, le=1, description="test accuracy whose energy-to-reach is reported (None: skip)")


def trial_table(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per trial: chief scalars, energy summed over devices, peak memory max over ranks."""
    from ...aggregate import with_factor_columns

    scalars = rows.filter(pl.col("step").is_null())
    chief = scalars.filter((pl.col("rank") == 0) & pl.col("metric").is_in([*TABLE_METRICS, "flops_per_sample"]))
    chief = chief.with_columns(
        pl.when(pl.col("metric") == "flops_per_sample").then(pl.concat_str(pl.lit("flops_per_sample_"), pl.col("provenance"))).otherwise(pl.col("metric")).alias("metric")
    )
    wide = chief.pivot(on="metric", index=["trial_id", "seed", "factors"], values="value", aggregate_function="first")
    energy = scalars.filter(pl.col("metric") == "energy").group_by("trial_id").agg(
        pl.col("value").sum().alias("energy"), pl.col("provenance").unique().sort().str.join(",").alias("energy_provenance"))
    memory = scalars.filter(pl.col("metric") == "peak_memory_increase").group_by("trial_id").agg(pl.col("value").max().alias("peak_memory_increase"))
    acc = rows.filter((pl.col("metric") == "accuracy") & (pl.col("split") == "test")).sort("step").group_by("trial_id").agg(
        pl.col("value").last().alias("test_accuracy"))
    table = wide.join(energy, on="trial_id", how="left").join(memory, on="trial_id", how="left").join(acc, on="trial_id", how="left")
    return with_factor_columns(table).with_columns((pl.col("micro_batch") * pl.col("workers") * pl.col("grad_accum")).alias("global_batch"))


def _per_sample(table: pl.DataFrame, measure: Any) -> dict[str, Any]:
    kwh = table["energy"] / 3.6e6
    samples = table["samples_total"]
    cores = table["workers"] * table["cpus_per_worker"]
    hours = table["device_seconds"] / 3600
    cost = pl.Series([h * (w * measure.price_per_gpu_hour if g else c * measure.price_per_cpu_hour)
                      for h, w, g, c in zip(hours, table["workers"], table["use_gpu"], cores)])
    co2 = kwh * measure.pue * measure.carbon_intensity_g_per_kwh

    def stats(series: pl.Series) -> dict[str, float]:
        return {"median": float(series.median()), "min": float(series.min()), "max": float(series.max())}

    return {
        "energy_j_per_sample": stats(table["energy"] / samples),
        "co2e_g_per_sample": stats(co2 / samples),
        "cost_usd_per_sample": stats(cost / samples),
        "co2e_g_total": float(co2.sum()),
        "cost_usd_total": float(cost.sum()),
        "energy_j_total": float(table["energy"].sum()),
        "assumptions": measure.model_dump(),
    }


def energy_to_target(rows: pl.DataFrame, table: pl.DataFrame, target: float) -> dict[str, Any]:
    """Energy until test accuracy first reaches ``target``: the trial's energy × (that step / steps run),
    i.e. energy attributed to steps in proportion (steps take equal time in steady state)."""
    acc = rows.filter((pl.col("metric") == "accuracy") & (pl.col("split") == "test") & pl.col("step").is_not_null())
    steps = rows.filter(pl.col("metric") == "steps").select("trial_id", pl.col("value").alias("steps"))
    hit = acc.filter(pl.col("value") >= target).group_by("trial_id").agg(pl.col("step").min().alias("step_reached"))
    t = table.select("trial_id", "family", "size", "energy").join(steps, on="trial_id").join(hit, on="trial_id", how="left")
    t = t.with_columns((pl.col("energy") * pl.col("step_reached") / pl.col("steps")).alias("energy_to_target_j"))
    return {"target_accuracy": target, "reached": int(t["step_reached"].is_not_null().sum()), "trials": t.height,
            "table": t.drop("energy").to_dicts()}


def _grouped(table: pl.DataFrame, by: str) -> list[dict[str, Any]]:
    g = table.group_by(by).agg(pl.col("step_time_median").median().alias("step_time_s"),
                               pl.col("peak_memory_increase").median().alias("peak_memory_increase_bytes"),
                               pl.col("samples_per_second").median(), pl.len().alias("trials")).sort(by)
    base = g.row(0, named=True)
    return [{**r, "relative_time": r["step_time_s"] / base["step_time_s"],
             "relative_memory": r["peak_memory_increase_bytes"] / base["peak_memory_increase_bytes"] if base["peak_memory_increase_bytes"] else None}
            for r in g.iter_rows(named=True)]


@STUDIES.register("compute")
class ComputeStudy(StudyKind):
    name = "compute"
    question = "How do training time, energy, memory, CO2e and cost grow with model size, workers, ZeRO stage and precision?"
    Options = ComputeOptions
    default_concurrency: ClassVar[int | None] = 1  # clean timings: one trial at a time
    descriptors = {"family": "model.family", "size": "model.size", "workers": "trainer.workers",
                   "cpus_per_worker": "trainer.cpus_per_worker", "use_gpu": "trainer.use_gpu",
                   "zero_stage": "trainer.deepspeed.zero_stage", "precision": "trainer.deepspeed.precision",
                   "micro_batch": "trainer.deepspeed.micro_batch", "grad_accum": "trainer.deepspeed.grad_accum"}

    def analyze(self, rows: pl.DataFrame, options: ComputeOptions, *, measure: Any) -> dict[str, Any]:
        table = trial_table(rows)
        sweeps = pl.col("sweep").str.split(",")
        size_sweep = table.filter(sweeps.list.eval(pl.element().str.starts_with("model_size")).list.any())
        size_sweep = size_sweep if size_sweep.height else table
        scaling = {}
        for (family,), part in size_sweep.group_by("family", maintain_order=True):
            scaling[family] = {
                "time": PowerLawFit("parameters", "train_time").fit(part).summary(),
                "energy": PowerLawFit("parameters", "energy").fit(part).summary(),
                "parameters_range": [int(part["parameters"].min()), int(part["parameters"].max())],
            }
        workers_sweep = table.filter(sweeps.list.contains("workers"))
        mode, efficiency = scaling_efficiency(workers_sweep) if workers_sweep.height else ("none", [])
        zero = table.filter(sweeps.list.contains("zero_stage"))
        precision = table.filter(sweeps.list.contains("precision"))
        ratio = (table["flops_per_sample_flop_counter"] / table["flops_per_sample_analytic"])
        return {
            "question": self.question,
            "trials": table.height,
            "energy_provenance": sorted({p for ps in table["energy_provenance"].drop_nulls() for p in ps.split(",")}),
            "peak_flops_provenance": sorted(set(rows.filter(pl.col("metric") == "peak_flops_per_worker")["provenance"].to_list())),
            "scaling_with_parameters": scaling,
            "worker_scaling": {"mode": mode, "table": efficiency},
            "zero_tradeoff": _grouped(zero, "zero_stage") if zero.height else [],
            "precision": _grouped(precision, "precision") if precision.height else [],
            "per_sample": _per_sample(table, measure),
            "mfu": {"median": float(table["mfu"].median()), "max": float(table["mfu"].max())},
            "flops_counted_over_analytic": {"median": float(ratio.median()), "min": float(ratio.min()), "max": float(ratio.max())},
            "energy_to_target": energy_to_target(rows, table, options.target_accuracy) if options.target_accuracy else None,
            "table": table.drop("factors").to_dicts(),
        }

    def figures(self, rows: pl.DataFrame, findings: dict[str, Any], out_dir: Path) -> list[Path]:
        table = pl.DataFrame(findings["table"])
        made = [compute_figures.cost_vs_parameters(table, findings, out_dir),
                compute_figures.throughput_vs_workers(findings, out_dir),
                compute_figures.memory_vs_zero(findings, out_dir)]
        return [p for p in made if p is not None]

    def report(self, findings: dict[str, Any], figures: list[Path]) -> str:
        from .report import compute_markdown

        return compute_markdown(findings, figures)

    def headlines(self, findings: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for family, fits in findings["scaling_with_parameters"].items():
            t = fits["time"]
            out.append({"finding": f"training time ∝ parameters^b ({family})", "value": t["exponent"],
                        "interval": t["interval95"], "unit": "exponent", "provenance": "measured, log-log OLS"})
        e = findings["per_sample"]["energy_j_per_sample"]
        out.append({"finding": "energy per training sample (median over trials)", "value": e["median"],
                    "interval": [e["min"], e["max"]], "unit": "J", "provenance": ",".join(findings["energy_provenance"])})
        return out

    def wandb_panels(self) -> tuple[tuple[str, ...], list[Any]]:
        import wandb_workspaces.reports.v2 as wr

        summary = wr.SummaryMetric
        return ("step_time", "loss"), [
            wr.ScatterPlot(title="training time vs parameters", x=summary("parameters"), y=summary("train_time"), log_x=True, log_y=True),
            wr.ScatterPlot(title="energy vs parameters", x=summary("parameters"), y=summary("energy"), log_x=True, log_y=True),
            wr.BarPlot(title="samples/s", metrics=[summary("samples_per_second")])]
