"""Study 2 — data requirements: learning curves of test error against training-set size, each anchor
trained to convergence (budget scaled with n, early stopping on validation, checked), curve families
with model-averaged intervals over seeds × test samples, the data needed to reach a target error, and
crossovers in both directions against classical baselines given the same training and validation rows."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from .convergence import improves
from ...headline import Headline
from ...registry import STUDIES
from ..base import StudyKind, holdout_splits
from .options import DataOptions, DataTreatment

if TYPE_CHECKING:
    from ...train.context import TrialContext


@STUDIES.register("data")
class DataStudy(StudyKind):
    name = "data"
    question = ("How much training data does the model need, and where does it overtake a classical baseline (or fall "
                "behind it)?")
    Treatment = DataTreatment
    Options = DataOptions
    row_columns = ("trial_id", "seed", "factors", "metric", "split", "group", "step", "value")
    eval_logits = ("test",)  # on_eval keeps the per-sample test outcomes of the best validation loss
    streams_data = True  # a streamed data set's anchors are subsampled from its index; baselines read theirs whole
    descriptors = {"family": "model.family", "size": "model.size", "n_train": "data.n_train"}

    def check(self, study: Any, options: Any) -> None:
        if not any("data.n_train" in s.axes for s in study.sweeps):
            raise ValueError(
                "sweeps: the data study needs an axis data.n_train (geometric anchors, e.g. [32, 64, 128, 256, 512, "
                "1024])"
            )
        from ...spec.models import TrainerSpec

        if study.trainer.budget != TrainerSpec().budget:  # the resolved spec in a run folder repeats the default
            raise ValueError(
                "trainer.budget: the data study sets each anchor's budget from treatment.epochs, min_steps and "
                "evaluations (scaled with n); remove trainer.budget"
            )

    def plan_trials(self, study: Any, options: Any, trials: list) -> list:
        from ...spec.models import BudgetSpec
        from ...train.batches import steps_per_epoch
        from .convergence import steps_for

        out = []
        for t in trials:
            tr = DataTreatment.model_validate(t.treatment)
            ds = t.trainer.deepspeed
            if t.data.n_train is None:
                raise ValueError(f"sweeps[{t.sweep}]: every data trial needs data.n_train (its anchor)")
            per_epoch = steps_per_epoch(t.data.n_train, t.trainer.micro_batch, ds.grad_accum, t.trainer.workers)
            steps = steps_for(per_epoch, epochs=tr.epochs, min_steps=tr.min_steps)
            budget = BudgetSpec(steps=steps, eval_every=max(1, steps // tr.evaluations))
            out.append(t.model_copy(update={"trainer": t.trainer.model_copy(update={"budget": budget})}))
        return out

    def prepare_data(self, ctx: "TrialContext") -> None:
        holdout_splits(ctx, ctx.treatment.val_fraction)
        ctx.info["early_stopping"] = {"best": float("inf"), "step": None, "correct": None}

    def on_eval(self, ctx: "TrialContext", *, step: int, epoch: int, metrics: dict[str, dict[str, float]]) -> None:
        from ...train.evaluate import correct_of, per_sample_correct

        state = ctx.info["early_stopping"]
        if improves(
            metrics["val"]["loss"], state["best"], ctx.treatment.min_delta
        ):  # every rank: ZeRO-3 forwards need all
            kept = ctx.eval_logits.get("test")  # this evaluation's own pass; a streamed test split is read again
            test = ctx.splits["test"]
            correct = correct_of(kept, test.y) if kept is not None else per_sample_correct(ctx.engine, test)
            state.update(best=metrics["val"]["loss"], step=step, correct=correct)

    def after_training(self, ctx: "TrialContext") -> None:
        from ...train.context import split_arrays
        from .baselines import evaluate_baseline

        if not ctx.is_chief:
            return
        state = ctx.info["early_stopping"]
        ctx.rows.add("early_stopping_min_delta", ctx.treatment.min_delta, "nats", provenance="spec")
        ctx.rows.add("early_stopping_patience", ctx.treatment.patience, "evaluations", provenance="spec")
        ctx.rows.add("validation_rows", len(ctx.splits["val"]), "count", provenance="spec")
        if state["correct"] is not None:
            for i, c in enumerate(state["correct"]):
                ctx.rows.add("test_correct", c, "bool", split="test", group=f"model/sample:{i}", step=state["step"])
        train, val, test = (split_arrays(ctx.splits[name]) for name in ("train", "val", "test"))
        for name in ctx.treatment.baselines:
            res = evaluate_baseline(
                name,
                train,
                val,
                test,
                seed=ctx.trial.seed,
                threads=ctx.trial.trainer.cpus_per_worker,
            )
            group = f"baseline:{name}"
            ctx.rows.add(
                "error", 1 - float(np.mean(res["correct"])), "fraction", split="test", group=group, provenance="sklearn"
            )
            for i, c in enumerate(res["correct"]):
                ctx.rows.add("test_correct", c, "bool", split="test", group=f"{group}/sample:{i}", provenance="sklearn")
            for key, value in res["selected"].items():
                ctx.rows.add(f"selected_{key}", value, "value", split="val", group=group, provenance="sklearn")
            ctx.rows.add("baseline_fit_time", res["fit_seconds"], "s", group=group, provenance="sklearn")

    def analyze(self, rows: pl.DataFrame, options: DataOptions, *, measure: Any) -> dict[str, Any]:
        from .analysis import analyze_data

        return {"question": self.question, **analyze_data(rows, options)}

    def figures(self, rows: pl.DataFrame, findings: dict[str, Any], out_dir: Path) -> list[Path]:
        from . import figures as data_figures

        made = [data_figures.learning_curves(findings, out_dir), data_figures.dl_vs_baseline(findings, out_dir)]
        return [p for p in made if p is not None]

    def report(self, findings: dict[str, Any], figures: list[Path]) -> str:
        from .report import data_markdown

        return data_markdown(findings, figures)

    def headlines(self, findings: dict[str, Any]) -> list[Headline]:
        from .report import data_headlines

        return data_headlines(findings)

    def wandb_panels(self, findings: dict[str, Any]) -> list[Any]:
        from ...tracking.panels import Bars, Curves, Scatter, config, summary

        return [
            Curves("loss", ("loss/train", "loss/test")),
            Scatter("test accuracy vs training size", config("n_train"), summary("accuracy/test"), log_x=True),
            Scatter("test loss vs training size", config("n_train"), summary("loss/test"), log_x=True, log_y=True),
            Bars("test accuracy by training size", (summary("accuracy/test"),), group_by="n_train"),
        ]
