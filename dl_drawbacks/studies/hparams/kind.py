"""Study 4 — sensitivity to hyperparameters: how much the outcome depends on them, which ones
matter (fANOVA with bootstrap stability), how much tuning buys over the library default, how much
is seed noise, and whether a good configuration carries over to another data set.

Trials (see ``trials``, ``followups``, ``runner``): a seeded random search (or Optuna TPE) over
``analysis.search_space`` with ASHA, and the same configurations on ``analysis.transfer`` under a
scheduler of its own; one hyperparameter at a time around the default; a scrambled Sobol sample trained
to the full budget (importance); K of its configurations that train over the fresh seeds (variance); and
re-runs on the fresh seeds of what was chosen on validation (the default, the best k, each hyperparameter's
best value, each data set's best on the other). The
objective is validation accuracy on a fixed hold-out of the training split; the test split only scores.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ...headline import Headline
from ...errors import SpecError
from ...registry import STUDIES
from .options import MIN_VARIANCE_CONFIGS, HparamsOptions
from ..base import StudyKind, default_splits

ROOTS = ("data.", "model.", "trainer.", "treatment.")
FINDINGS = ("search", "importance", "seed_variance", "tunability", "transfer", "failures", "cost")


class HparamsTreatment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    val_fraction: float = Field(
        0.2, gt=0, lt=1, description="share of the training split held out for validation (the search objective)"
    )
    split_seed: int = Field(
        0, description="seed of the validation hold-out (fixed: seeds vary initialisation and order only)"
    )
    tune_reports: bool = Field(
        False,
        description="report each evaluation to the trial's Tune scheduler (search trials; "
        "set by the study, not in specs)",
    )


@STUDIES.register("hparams")
class HparamsStudy(StudyKind):
    name = "hparams"
    question = (
        "How much does the outcome depend on hyperparameters, which ones matter, how much does tuning buy, "
        "and does a good configuration carry over to another task?"
    )
    Treatment = HparamsTreatment
    Options = HparamsOptions
    row_columns = ("trial_id", "seed", "factors", "metric", "split", "step", "value", "provenance", "rank")
    default_concurrency: ClassVar[int | None] = None  # as many trials as the cluster holds
    plans_at_run_time: ClassVar[bool] = True  # TPE trials and the re-runs chosen from the search

    def check(self, study: Any, options: Any) -> None:
        from .space import HPARAM_PATHS

        for key in options.search_space:
            if key not in HPARAM_PATHS and not key.startswith(ROOTS):
                raise ValueError(
                    f"analysis.search_space.{key}: unknown hyperparameter; known: {', '.join(HPARAM_PATHS)}, or a "
                    "dotted setting path"
                )
        if study.sweeps:
            raise ValueError("sweeps: the hparams study samples its trials from analysis.search_space; remove sweeps")
        if len(study.seeds) != 1:
            raise ValueError("seeds: give one seed for the search; the seeds of the re-runs go in analysis.seeds")
        if study.seeds[0] in options.seeds:
            raise ValueError(f"analysis.seeds: re-runs need fresh seeds; remove the search seed {study.seeds[0]}")
        budget = study.trainer.budget
        if options.asha.enabled and (budget.epochs is None or budget.eval_every):
            raise ValueError(
                "trainer.budget: ASHA compares trials epoch by epoch; give epochs and eval_every 0 (or "
                "analysis.asha.enabled: false)"
            )
        if options.asha.enabled and study.trainer.workers > 1:
            raise ValueError(
                "analysis.asha: ASHA needs 1-worker trials (reports come from the Tune trial process); set enabled: "
                "false for trainer.workers > 1"
            )
        if 0 < options.variance_configs < MIN_VARIANCE_CONFIGS:
            raise ValueError(
                f"analysis.variance_configs: give 0 (not measured) or at least {MIN_VARIANCE_CONFIGS}; the seed vs "
                f"hyperparameter share is not measurable over fewer configurations"
            )
        if options.variance_configs > options.full_budget_configs:
            raise ValueError(
                f"analysis.variance_configs: the variance design draws from the full-budget sample; raise "
                f"analysis.full_budget_configs to at least {options.variance_configs} (more: not every one trains)"
            )
        if options.transfer is not None and options.search == "tpe":
            raise ValueError(
                "analysis.transfer: the transfer comparison needs the same configurations on both tasks; use search: "
                "random"
            )

    def plan_trials(self, study: Any, options: HparamsOptions, trials: list) -> list:
        from .trials import planned_trials

        try:
            return planned_trials(trials[0], options)
        except ValidationError as err:
            first = err.errors()[0]
            raise SpecError(
                f"analysis.search_space: a sampled configuration is not a valid setting: "
                f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
            ) from None

    def run_trials(self, study: Any, options: HparamsOptions, todo: list, *, runner: Any) -> None:
        from .runner import run_study

        base = next((t for t in todo if t.data == study.data), todo[0]).model_copy(update={"seed": study.seeds[0]})
        run_study(study, options, todo, base=base, runner=runner)

    # worker side -----------------------------------------------------------------------------
    def prepare_data(self, ctx) -> None:
        from ...data.base import stratified_indices
        from ...train.context import Split
        from ...train.loop import total_steps

        ctx.info["t_start"] = time.perf_counter()
        default_splits(ctx)
        treat = ctx.treatment
        train = ctx.splits["train"]
        n_val = max(1, int(round(treat.val_fraction * len(train))))
        strata = np.zeros(len(train), np.int64) if ctx.dataset.modality == "tokens" else np.asarray(train.y)
        val = stratified_indices(strata, n_val, seed=treat.split_seed)  # the shared stratified hold-out
        keep = np.setdiff1d(np.arange(len(train)), val)
        ctx.splits["val"] = Split(train.x[val], train.y[val], {k: v[val] for k, v in train.groups.items()})
        ctx.splits["train"] = Split(train.x[keep], train.y[keep], {k: v[keep] for k, v in train.groups.items()})
        if ctx.is_chief:
            counts = np.bincount(np.asarray(ctx.splits["val"].y).reshape(-1))
            ctx.rows.add(
                "chance_accuracy", counts.max() / counts.sum(), "fraction", split="val", provenance="majority_class"
            )
            ctx.rows.add("steps_planned", total_steps(ctx)[0], "count")

    def before_training(self, ctx) -> None:
        from .worker import start_window

        if ctx.treatment.tune_reports and ctx.is_chief:
            start_window(ctx)

    def on_eval(self, ctx, *, step: int, epoch: int, metrics: dict[str, dict[str, float]]) -> None:
        from .worker import report_eval
        from ...train.loop import total_steps

        report_eval(ctx, step=step, epoch=epoch, metrics=metrics, final=step >= total_steps(ctx)[0])

    # driver side -----------------------------------------------------------------------------
    def analyze(self, rows: pl.DataFrame, options: HparamsOptions, *, measure: Any) -> dict[str, Any]:
        from . import analysis as A
        from .outcomes import trial_outcomes, val_curves
        from .transfer import transfer
        from .tunability import tunability
        from .variance import seed_variance

        names = list(options.search_space)
        if rows.height == 0:
            reason = {"available": False, "reason": "not measurable: the study has no rows (every trial failed?)"}
            return {"question": self.question, "hparams": names, "table": [], **{k: reason for k in FINDINGS}}
        table = trial_outcomes(rows, explode_factor=options.explode_factor)
        table = table.with_columns([pl.lit(None).alias(n) for n in names if n not in table.columns])
        curves = val_curves(rows)
        return {
            "question": self.question,
            "objective": "validation accuracy (held-out share of the training split); diverged runs score chance",
            "search": {
                "algorithm": options.search,
                "asha": options.asha.model_dump(),
                "scheduler": "one ASHA scheduler per data set",
                "task_a": A.search_summary(table, "search", names),
                "task_b": A.search_summary(table, "transfer", names),
            },
            "importance": A.importance(table, curves, options),
            "seed_variance": seed_variance(table, options),
            "tunability": tunability(table, names, options.seeds, top_k=options.top_k),
            "transfer": transfer(table, curves, names, options.seeds, seed=options.sample_seed),
            "failures": A.failure_region(table, names),
            "cost": A.cost(table),
            "hparams": names,
            "table": table.drop("factors").to_dicts(),
        }

    def figures(self, rows: pl.DataFrame, findings: dict[str, Any], out_dir: Path) -> list[Path]:
        from . import figures as F

        table = pl.DataFrame(findings["table"], infer_schema_length=None)
        made = [
            F.importance_bars(findings, out_dir),
            F.parallel_coordinates(table, findings, out_dir),
            F.variance_bar(findings, out_dir),
            F.tunability_bars(findings, out_dir),
            F.transfer_by_rung(findings, out_dir),
        ]
        return [p for p in made if p is not None]

    def report(self, findings: dict[str, Any], figures: list[Path]) -> str:
        from .report import hparams_markdown

        return hparams_markdown(findings, figures)

    def headlines(self, findings: dict[str, Any]) -> list[Headline]:
        from .report import hparams_headlines

        return hparams_headlines(findings)

    def wandb_panels(self, findings: dict[str, Any]) -> list[Any]:
        from ...tracking.panels import Bars, Curves, Parallel, config, summary

        names = [n for n in findings.get("hparams") or [] if isinstance(n, str)]
        return [
            Curves("validation accuracy (the objective)", ("accuracy/val",)),
            Parallel(
                "configurations", (*(config(n) for n in names), summary("accuracy/val"), summary("accuracy/test"))
            ),
            Bars("final validation accuracy by role", (summary("accuracy/val"),), group_by="sweep"),
        ]
