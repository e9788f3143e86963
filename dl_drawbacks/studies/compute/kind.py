"""Study 1 — computational cost: how training time, energy, memory, CO2e and money grow with
model size, workers, ZeRO stage and precision."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from ...headline import Headline
from ...registry import STUDIES
from ..base import StudyKind
from . import analysis
from .table import trial_table


class ComputeOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    target_accuracy: float | None = Field(None, gt=0, le=1,
                                          description="test accuracy whose energy-to-reach is reported (None: skip)")
    max_load_per_cpu: float = Field(1.0, gt=0, description="1-minute load average per CPU above which a trial's "
                                    "timings are flagged in the report and its timing headlines (never dropped)")


def _provenances(table: pl.DataFrame) -> list[str]:
    return sorted({p for ps in table["energy_provenance"].drop_nulls() for p in ps.split(",")})


@STUDIES.register("compute")
class ComputeStudy(StudyKind):
    name = "compute"
    streams_data = True
    question = ("How do training time, energy, memory, CO2e and cost grow with model size, workers, ZeRO stage and "
                "precision?")
    Options = ComputeOptions
    row_columns = ("trial_id", "seed", "factors", "metric", "split", "step", "value", "provenance", "rank")
    default_concurrency: ClassVar[int | None] = 1  # clean timings: one trial at a time
    descriptors = {"family": "model.family", "size": "model.size", "dataset": "data.name", "n_train": "data.n_train",
                   "budget_steps": "trainer.budget.steps", "workers": "trainer.workers",
                   "cpus_per_worker": "trainer.cpus_per_worker", "use_gpu": "trainer.use_gpu",
                   "engine": "trainer.engine",
                   "zero_stage": "trainer.deepspeed.zero_stage", "precision": "trainer.precision",
                   "micro_batch": "trainer.micro_batch", "grad_accum": "trainer.deepspeed.grad_accum",
                   "compile": "trainer.compile"}

    def analyze(self, rows: pl.DataFrame, options: ComputeOptions, *, measure: Any) -> dict[str, Any]:
        table = trial_table(rows)
        if table.height == 0:
            return {"question": self.question, "trials": 0, "not_measurable": "no trial recorded its scalars"}
        target = options.target_accuracy
        return {
            "question": self.question,
            "trials": table.height,
            "seeds": sorted(int(s) for s in table["seed"].unique()),
            "energy_provenance": _provenances(table),
            "energy_note": analysis.ESTIMATE_ONLY if analysis.energy_is_estimate(table) else None,
            "peak_flops_provenance": sorted(set(rows.filter(pl.col("metric") == "peak_flops_per_worker")["provenance"]
                                                .drop_nulls().to_list())),
            "scaling_with_parameters": analysis.size_scaling(table),
            "worker_scaling": analysis.worker_scaling(table),
            "zero_tradeoff": analysis.factor_tradeoff(table, "zero_stage"),
            "precision": analysis.factor_tradeoff(table, "precision"),
            "per_condition": analysis.per_condition(table, measure),
            "host_load": analysis.host_load(table, options.max_load_per_cpu),
            "totals": {"energy_j": float(table["energy"].fill_nan(None).sum()), "assumptions": measure.model_dump()},
            "flops_counted_over_analytic": analysis.flop_check(table),
            "energy_to_target": analysis.energy_to_target(rows, table, target) if target else None,
            "table": table.drop("factors").to_dicts(),
        }

    def card_flags(self, findings: dict[str, Any], family: str) -> tuple[str, ...]:
        from .timing_flags import timing_flags

        return timing_flags(findings, family)

    def figures(self, rows: pl.DataFrame, findings: dict[str, Any], out_dir: Path) -> list[Path]:
        from . import figures as compute_figures  # matplotlib on the driver only: workers never import it

        if not findings.get("table"):
            return []
        table = pl.DataFrame(findings["table"], infer_schema_length=None)
        made = [compute_figures.cost_vs_parameters(table, findings, out_dir),
                compute_figures.throughput_vs_workers(findings, out_dir),
                compute_figures.memory_vs_zero(findings, out_dir)]
        return [p for p in made if p is not None]

    def report(self, findings: dict[str, Any], figures: list[Path]) -> str:
        from .report import compute_markdown

        return compute_markdown(findings, figures)

    def headlines(self, findings: dict[str, Any]) -> list[Headline]:
        from .report import headline_rows

        return headline_rows(findings)

    def wandb_panels(self, findings: dict[str, Any]) -> list[Any]:
        from ...tracking.panels import Bars, Curves, Scatter, summary

        return [Curves("training loss per step", ("loss/train_batch",)), Curves("step time", ("step_time/train",)),
                Scatter("steady-state step time (evaluation excluded) vs FLOPs per step", summary("flops_per_step"),
                        summary("step_time_mean"), log_x=True, log_y=True),
                Scatter("energy (all ranks and devices) vs parameters", summary("parameters"), summary("energy/total"),
                        log_x=True, log_y=True),
                Scatter("throughput vs parameters", summary("parameters"), summary("throughput/samples_per_s"),
                        log_x=True, log_y=True),
                Scatter("counted vs analytic FLOPs per sample", summary("flops_per_sample/analytic"),
                        summary("flops_per_sample/counted"), log_x=True, log_y=True),
                *([Bars("MFU by ZeRO stage", (summary("mfu"),), group_by="zero_stage")]
                  if any(c["mfu"].get("estimate") is not None for c in findings.get("per_condition", [])) else [])]
