"""Study 2 — data requirements: learning curves of test error against training-set size, fitted curve
families with seed-bootstrap intervals, the data needed to reach a target error, and the crossover
against classical baselines trained on the very same subsamples."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .baselines import BASELINES
from .learning_curves import FAMILIES, LearningCurveFit, crossover
from ...registry import STUDIES
from ..base import StudyKind, holdout_splits

if TYPE_CHECKING:
    from ...train.context import TrialContext


class DataTreatment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    val_fraction: float = Field(0.15, ge=0, lt=1, description="share of the train split held out as validation before subsampling (0: none)")
    baselines: tuple[str, ...] = Field(tuple(BASELINES), description=f"classical baselines fitted on the same subsample ({', '.join(BASELINES)})")

    @field_validator("baselines")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(v) - set(BASELINES))
        if unknown:
            raise ValueError(f"unknown baseline(s) {', '.join(unknown)}; known: {', '.join(BASELINES)}")
        return v


class DataOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    target_error: float | None = Field(None, gt=0, lt=1, description="test error whose data requirement is reported (None: skip)")
    selection: Literal["best_val", "final"] = Field("best_val", description="test error at the best-validation-loss evaluation (early stopping) or at the end")
    families: tuple[str, ...] = Field(tuple(FAMILIES), description=f"learning-curve families compared ({', '.join(FAMILIES)})")
    n_bootstrap: int = Field(200, ge=20, description="bootstrap refits over seeds resampled per anchor")
    min_anchors: int = Field(5, ge=3, description="fewer anchors than this: extrapolation refused")
    monotone_tolerance: float = Field(0.01, ge=0, description="error rise between anchors tolerated (plus 2 standard errors) before the curve counts as non-monotone")
    n_cap: float = Field(1e9, gt=1, description="largest n searched when inverting a curve; beyond it a target counts as unreachable")

    @field_validator("families")
    @classmethod
    def _families(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(v) - set(FAMILIES))
        if unknown:
            raise ValueError(f"unknown curve family {', '.join(unknown)}; known: {', '.join(FAMILIES)}")
        return v


def trial_errors(rows: pl.DataFrame, selection: str) -> pl.DataFrame:
    """One row per trial: model key, train size, seed, test error (final, or at the best validation loss)."""
    from ...aggregate import with_factor_columns

    size = rows.filter(pl.col("metric") == "train_size").select("trial_id", pl.col("value").alias("n"))
    diverged = rows.filter(pl.col("metric") == "diverged").group_by("trial_id").agg((pl.col("value").max() > 0).alias("diverged"))
    acc = rows.filter((pl.col("metric") == "accuracy") & (pl.col("split") == "test") & pl.col("step").is_not_null())
    if selection == "best_val" and rows.filter((pl.col("split") == "val") & (pl.col("metric") == "loss")).height:
        val = rows.filter((pl.col("metric") == "loss") & (pl.col("split") == "val")).sort("step")
        best = val.group_by("trial_id").agg(pl.col("step").get(pl.col("value").arg_min()).alias("best_step"))
        chosen = acc.join(best, on="trial_id").filter(pl.col("step") == pl.col("best_step"))
    else:
        chosen = acc.sort("step").group_by("trial_id").agg(pl.all().last())
    err = chosen.select("trial_id", "seed", "factors", (1 - pl.col("value")).alias("error"), pl.col("step").alias("selected_step"))
    table = with_factor_columns(err.join(size, on="trial_id").join(diverged, on="trial_id", how="left"))
    skip = {"trial_id", "seed", "factors", "error", "selected_step", "n", "diverged", "n_train", "sweep", "family", "size"}
    extra = [c for c in table.columns if c not in skip]
    key = pl.concat_str([pl.col("family"), pl.lit("/"), pl.col("size")] + [pl.format(f" {c}={{}}", pl.col(c)) for c in extra])
    return table.with_columns(key.alias("model"))


def baseline_errors(rows: pl.DataFrame) -> pl.DataFrame:
    """Baseline test error per (baseline, train size, seed): trials of different DL models share the subsample, so duplicates are averaged."""
    size = rows.filter(pl.col("metric") == "train_size").select("trial_id", pl.col("value").alias("n"))
    b = rows.filter((pl.col("metric") == "error") & pl.col("group").str.starts_with("baseline:")).join(size, on="trial_id")
    return b.group_by(pl.col("group").str.strip_prefix("baseline:").alias("model"), "n", "seed").agg(pl.col("value").mean().alias("error"))


def fit_curve(frame: pl.DataFrame, o: DataOptions) -> LearningCurveFit:
    return LearningCurveFit(families=o.families, n_bootstrap=o.n_bootstrap, min_anchors=o.min_anchors,
                            monotone_tolerance=o.monotone_tolerance).fit(frame["n"].to_numpy(), frame["seed"].to_numpy(), frame["error"].to_numpy())


def _curve_findings(fit: LearningCurveFit, o: DataOptions) -> dict[str, Any]:
    out = fit.summary()
    out["data_to_target"] = fit.data_to_reach(o.target_error, n_cap=o.n_cap) if o.target_error else None
    return out


@STUDIES.register("data")
class DataStudy(StudyKind):
    name = "data"
    question = "How much training data does the model need, and where does it overtake a classical baseline?"
    Treatment = DataTreatment
    Options = DataOptions
    descriptors = {"family": "model.family", "size": "model.size", "n_train": "data.n_train"}

    def check(self, study: Any, options: Any) -> None:
        t = DataTreatment.model_validate(study.treatment)
        o = options
        if not any("data.n_train" in s.axes for s in study.sweeps):
            raise ValueError("sweeps: the data study needs an axis data.n_train (geometric anchors, e.g. [32, 64, 128, 256, 512, 1024])")
        vals = [s.axes.get("treatment.val_fraction", [t.val_fraction]) for s in study.sweeps]
        if o.selection == "best_val" and any(v == 0 for vs in vals for v in vs):
            raise ValueError("analysis.selection: best_val needs treatment.val_fraction > 0; set it or use selection: final")

    def prepare_data(self, ctx: "TrialContext") -> None:
        holdout_splits(ctx, ctx.treatment.val_fraction)

    def after_training(self, ctx: "TrialContext") -> None:
        from .baselines import evaluate_baseline

        if not ctx.is_chief:
            return
        train, test = ctx.splits["train"], ctx.splits["test"]
        for name in ctx.treatment.baselines:
            res = evaluate_baseline(name, train.x, train.y, test.x, test.y, seed=ctx.trial.seed, threads=ctx.trial.trainer.cpus_per_worker)
            ctx.rows.add("error", res["error"], "fraction", split="test", group=f"baseline:{name}", provenance="sklearn")
            ctx.rows.add("baseline_fit_time", res["fit_seconds"], "s", group=f"baseline:{name}", provenance="sklearn")

    def analyze(self, rows: pl.DataFrame, options: DataOptions, *, measure: Any) -> dict[str, Any]:
        table = trial_errors(rows, options.selection)
        ok = table.filter(~pl.col("diverged").fill_null(False))
        dl_fits = {m: fit_curve(part, options) for (m,), part in ok.group_by("model", maintain_order=True)}
        models = {m: _curve_findings(f, options) for m, f in dl_fits.items()}
        base = baseline_errors(rows)
        base_fits = {m: fit_curve(part, options) for (m,), part in base.group_by("model", maintain_order=True)}
        baselines = {m: _curve_findings(f, options) for m, f in base_fits.items()}
        cross = {m: {b: crossover(dl, f, n_cap=min(options.n_cap, 1e7)) for b, f in base_fits.items()} for m, dl in dl_fits.items()}
        per_anchor = pl.concat([ok.select("model", "n", "seed", "error").with_columns(pl.lit("deep learning").alias("kind")),
                                base.select("model", "n", "seed", "error").with_columns(pl.lit("baseline").alias("kind"))], how="vertical_relaxed")
        anchors = per_anchor.group_by("kind", "model", "n").agg(pl.col("error").mean().alias("mean_error"), pl.col("error").std().alias("std_error"),
                                                                  pl.len().alias("seeds")).sort("kind", "model", "n")
        return {"question": self.question, "trials": table.height, "diverged_trials": int(table["diverged"].fill_null(False).sum()),
                "selection": options.selection, "target_error": options.target_error,
                "selection_method": "family with the smallest |predicted − observed| mean error at the largest anchor when fitted on the others",
                "interval_method": f"percentile bootstrap, {options.n_bootstrap} draws of seeds with replacement per anchor, curve refitted per draw",
                "models": models, "baselines": baselines, "crossover": cross, "per_anchor": anchors.to_dicts(),
                "table": table.drop("factors").to_dicts()}

    def figures(self, rows: pl.DataFrame, findings: dict[str, Any], out_dir: Path) -> list[Path]:
        from . import figures as data_figures

        made = [data_figures.learning_curves(findings, out_dir), data_figures.extrapolation(findings, out_dir),
                data_figures.dl_vs_baseline(findings, out_dir)]
        return [p for p in made if p is not None]

    def report(self, findings: dict[str, Any], figures: list[Path]) -> str:
        from .report import data_markdown

        return data_markdown(findings, figures)

    def headlines(self, findings: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for m, f in findings["models"].items():
            e = f["exponent"]
            out.append({"finding": f"learning-curve exponent b, error ≈ c + a·n^-b ({m})", "value": e["b"], "interval": e["interval95"],
                        "unit": "exponent", "provenance": "measured, pow3 fit, seed bootstrap 95%"})
            t = f.get("data_to_target")
            if t and not t["refused"]:
                out.append({"finding": f"train samples to reach test error {t['target_error']} ({m})", "value": t["median"],
                            "interval": t["interval90"], "unit": f"samples (P unreachable {t['p_unreachable']:.2f})",
                            "provenance": f"extrapolated, {t['family']} fit, seed bootstrap 90%"})
            for b, c in findings["crossover"].get(m, {}).items():
                out.append({"finding": f"smallest n from which {m} beats {b} (observed)", "value": c["observed_crossover_n"],
                            "interval": None, "unit": "samples", "provenance": "measured, mean over seeds per anchor"})
        return out

    def wandb_panels(self) -> tuple[tuple[str, ...], list[Any]]:
        import wandb_workspaces.reports.v2 as wr

        return ("loss", "accuracy"), [wr.BarPlot(title="final test accuracy", metrics=[wr.SummaryMetric("accuracy/test")])]
