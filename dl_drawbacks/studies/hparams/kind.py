"""Study 4 — sensitivity to hyperparameters: how much the outcome depends on them, which ones
matter (fANOVA with bootstrap stability), how much tuning buys over the library default, how much
is seed noise, and whether a good configuration carries over to another data set.

Trials: a seeded random search (or Optuna TPE) over ``analysis.search_space`` with ASHA, the same
configurations on ``analysis.transfer``, the default configuration over seeds, one hyperparameter
at a time around the default, and the best k configurations over seeds (see ``search/runner``).
The objective is validation accuracy on a fixed hold-out of the training split.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ...errors import SpecError
from ...registry import STUDIES
from .options import HparamsOptions
from ..base import StudyKind, default_splits

ROOTS = ("data.", "model.", "trainer.", "treatment.")


class HparamsTreatment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    val_fraction: float = Field(0.2, gt=0, lt=1, description="share of the training split held out for validation (the search objective)")
    split_seed: int = Field(0, description="seed of the validation hold-out (fixed: seeds vary initialisation and order only)")


@STUDIES.register("hparams")
class HparamsStudy(StudyKind):
    name = "hparams"
    question = ("How much does the outcome depend on hyperparameters, which ones matter, how much does tuning buy, "
                "and does a good configuration carry over to another task?")
    Treatment = HparamsTreatment
    Options = HparamsOptions
    default_concurrency: ClassVar[int | None] = None  # as many trials as the cluster holds

    def check(self, study: Any, options: Any) -> None:
        from .space import HPARAM_PATHS

        for key in options.search_space:
            if key not in HPARAM_PATHS and not key.startswith(ROOTS):
                raise ValueError(f"analysis.search_space.{key}: unknown hyperparameter; known: {', '.join(HPARAM_PATHS)}, or a dotted setting path")
        if study.sweeps:
            raise ValueError("sweeps: the hparams study samples its trials from analysis.search_space; remove sweeps")
        if len(study.seeds) != 1:
            raise ValueError("seeds: give one seed for the search; the seeds of the re-runs go in analysis.seeds")
        budget = study.trainer.budget
        if options.asha.enabled and (budget.epochs is None or budget.eval_every):
            raise ValueError("trainer.budget: ASHA compares trials epoch by epoch; give epochs and eval_every 0 (or analysis.asha.enabled: false)")
        if options.asha.enabled and study.trainer.workers > 1:
            raise ValueError("analysis.asha: ASHA needs 1-worker trials (reports come from the Tune trial process); set enabled: false for trainer.workers > 1")
        if options.transfer is not None and options.search == "tpe":
            raise ValueError("analysis.transfer: the transfer comparison needs the same configurations on both tasks; use search: random")

    def plan_trials(self, study: Any, options: HparamsOptions, trials: list) -> list:
        from .trials import planned_trials

        try:
            return planned_trials(trials[0], options)
        except ValidationError as err:
            first = err.errors()[0]
            raise SpecError(f"analysis.search_space: a sampled configuration is not a valid setting: "
                            f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None

    def run_trials(self, study: Any, options: HparamsOptions, todo: list, *, runner: Any) -> None:
        from .runner import run_study

        base = next((t for t in todo if t.data == study.data), todo[0]).model_copy(update={"seed": study.seeds[0]})
        run_study(study, options, todo, base=base, runner=runner)

    # worker side -----------------------------------------------------------------------------
    def prepare_data(self, ctx) -> None:
        from ...train.context import Split
        from ...train.loop import total_steps

        ctx.info["t_start"] = time.perf_counter()
        default_splits(ctx)
        treat = ctx.treatment
        train = ctx.splits["train"]
        order = np.random.default_rng(treat.split_seed).permutation(len(train))
        n_val = max(1, int(round(treat.val_fraction * len(train))))
        val, keep = order[:n_val], order[n_val:]
        ctx.splits["val"] = Split(train.x[val], train.y[val], {k: v[val] for k, v in train.groups.items()})
        ctx.splits["train"] = Split(train.x[keep], train.y[keep], {k: v[keep] for k, v in train.groups.items()})
        if ctx.is_chief:
            counts = np.bincount(np.asarray(ctx.splits["val"].y).reshape(-1))
            ctx.rows.add("chance_accuracy", counts.max() / counts.sum(), "fraction", split="val", provenance="majority_class")
            ctx.rows.add("steps_planned", total_steps(ctx)[0], "count")

    def on_eval(self, ctx, *, step: int, epoch: int, metrics: dict[str, dict[str, float]]) -> None:
        from .worker import report_eval
        from ...train.loop import total_steps

        report_eval(ctx, step=step, epoch=epoch, metrics=metrics, final=step >= total_steps(ctx)[0])

    # driver side -----------------------------------------------------------------------------
    def analyze(self, rows: pl.DataFrame, options: HparamsOptions, *, measure: Any) -> dict[str, Any]:
        from .importance import FanovaBootstrap
        from . import analysis as A
        from .outcomes import trial_outcomes

        table = trial_outcomes(rows, explode_factor=options.explode_factor)
        names = list(options.search_space)
        full = table.filter((pl.col("sweep").str.split(",").list.contains("search")) & pl.col("status").is_in(A.FULL))
        importance: dict[str, Any] = {"available": False, "reason": f"{full.height} full-budget search trials "
                                      f"(need >= {options.importance_min_trials})"}
        if full.height >= options.importance_min_trials:
            dists = {n: d.optuna() for n, d in options.search_space.items()}
            fit = FanovaBootstrap(dists, n_bootstrap=options.bootstraps, n_trees=options.fanova_trees, seed=options.sample_seed).fit(full)
            importance = {"available": True, **fit.result(), "trials_used": "search trials of task A that ran the full budget "
                          "(completed or diverged at chance accuracy); ASHA-stopped trials are left out (truncated objective)"}
        search = table.filter(pl.col("sweep").str.split(",").list.contains("search"))
        best = search.filter(pl.col("status").is_in(A.FULL)).sort("objective", descending=True).head(1)
        return {
            "question": self.question,
            "objective": "validation accuracy at the last evaluation (held-out share of the training split)",
            "search": {"algorithm": options.search, "asha": options.asha.model_dump(), "trials": search.height,
                       "best_objective": best["objective"][0] if best.height else None,
                       "best_test_accuracy": best["test_accuracy"][0] if best.height else None,
                       "best_config": {n: best[n][0] for n in names} if best.height else None},
            "importance": importance,
            "importance_table": [{"param": n, **{k: v for k, v in importance["params"][n].items() if k != "rank_frequency"}}
                                 for n in importance["ranking"]] if importance["available"] else [],
            "seed_variance": A.seed_variance(table, seed=options.sample_seed),
            "tunability": A.tunability(table, names, seed=options.sample_seed),
            "transfer": A.transfer(table, seed=options.sample_seed),
            "failures": A.failure_region(table, names),
            "cost": A.cost(table),
            "hparams": names,
            "table": table.drop("factors").to_dicts(),
        }

    def figures(self, rows: pl.DataFrame, findings: dict[str, Any], out_dir: Path) -> list[Path]:
        from . import figures as F

        table = pl.DataFrame(findings["table"], infer_schema_length=None)
        made = [F.importance_bars(findings, out_dir), F.parallel_coordinates(table, findings, out_dir),
                F.outcome_vs_hparams(table, findings, out_dir), F.variance_bar(findings, out_dir), F.transfer_scatter(findings, out_dir)]
        return [p for p in made if p is not None]

    def report(self, findings: dict[str, Any], figures: list[Path]) -> str:
        from .report import hparams_markdown

        return hparams_markdown(findings, figures)

    def headlines(self, findings: dict[str, Any]) -> list[dict[str, Any]]:
        from .report import hparams_headlines

        return hparams_headlines(findings)

    def wandb_panels(self, findings: dict[str, Any]) -> list[Any]:
        from ...tracking.panels import Bars, Curves, Parallel, config, summary

        names = [n for n in findings.get("hparams") or [] if isinstance(n, str)]
        return [Curves("validation accuracy (the objective)", ("accuracy/val",)),
                Parallel("configurations", (*(config(n) for n in names), summary("accuracy/val"), summary("accuracy/test"))),
                Bars("final validation accuracy by role", (summary("accuracy/val"),), group_by="sweep")]
