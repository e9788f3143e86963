"""Study 5 — bias: does the model treat groups differently, how does that depend on how well each
group is represented in the training data, and what does mitigation cost?

Worker side: compose the training data (the unprivileged share at a fixed size), hold out a
validation split, optionally reweigh (aif360 Reweighing → per-sample loss weights), train, then
predict on test (optionally post-processed with a method fitted on validation) and record aif360's
group-fairness metrics, per-group accuracy/TPR/FPR/selection rate, and their bootstrap intervals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from ...errors import DataError
from ...registry import STUDIES
from ...store import json_safe
from ..base import StudyKind

UNITS = {"disparate_impact": "ratio", "statistical_parity_difference": "difference",
         "equal_opportunity_difference": "difference", "average_odds_difference": "difference", "theil_index": "index"}


class BiasTreatment(BaseModel):
    """Per-trial knobs; all three main ones are required so every trial records them as factors."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    protected: str | list[str] = Field(description="protected attribute, or a list for intersectional groups (e.g. [sex, race])")
    unprivileged_share: float | None = Field(
        gt=0, lt=1, description="share of the unprivileged group in the training data at size data.n_train (null: the data's own)")
    mitigation: Literal["none", "reweighing", "calibrated_eq_odds", "reject_option"] = Field(
        description="none, reweighing (pre-processing) or a post-processing method fitted on the validation split")
    val_fraction: float = Field(0.2, gt=0, lt=1, description="share of the training rows held out as validation (post-processing fit)")
    bootstrap: int = Field(200, ge=0, description="bootstrap resamples of the test set per trial (0: none)")

    @property
    def attributes(self) -> list[str]:
        return [self.protected] if isinstance(self.protected, str) else list(self.protected)


class BiasOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    primary_metric: Literal["disparate_impact", "statistical_parity_difference", "equal_opportunity_difference",
                            "average_odds_difference"] = Field(
        "average_odds_difference", description="fairness metric that ranks mitigations and draws the frontier")


def _compose(ctx, t: BiasTreatment) -> None:
    """Fill ctx.splits train/val/test for the treatment (representation, hold-out, reweighing)."""
    from ...data import load_dataset
    from .aif360_adapter import reweighing_weights
    from .metrics import privileged_masks
    from .sampling import holdout, natural_indices, representation_indices
    from ...train.context import Split

    spec = ctx.trial.data
    ds = load_dataset(spec.name, spec.options)
    ctx.dataset = ds
    missing = [a for a in t.attributes if a not in ds.protected_train]
    if ds.n_classes != 2 or missing:
        raise DataError(f"treatment.protected: dataset {spec.name!r} needs 2 classes and protected attributes "
                        f"{', '.join(missing) or t.attributes}; it has {', '.join(ds.protected_train) or 'none'}")
    groups = {a: np.asarray(ds.protected_train[a]) for a in t.attributes}
    _, unpriv = privileged_masks(groups, t.attributes)
    y = np.asarray(ds.y_train)
    if t.unprivileged_share is None:
        idx = natural_indices(y, unpriv, n=spec.n_train, seed=ctx.trial.seed)
    else:
        idx = representation_indices(y, unpriv, n=spec.n_train, share=t.unprivileged_share, seed=ctx.trial.seed)
    fit, val = holdout(y[idx], unpriv[idx], fraction=t.val_fraction, seed=ctx.trial.seed + 1)
    fit, val = idx[fit], idx[val]
    part = lambda rows: {a: g[rows] for a, g in groups.items()}  # noqa: E731
    weights = reweighing_weights(y[fit], part(fit), t.attributes) if t.mitigation == "reweighing" else None
    ctx.splits["train"] = Split(ds.x_train[fit], y[fit], part(fit), weights=weights)
    ctx.splits["val"] = Split(ds.x_train[val], y[val], part(val))
    ctx.splits["test"] = Split(ds.x_test, ds.y_test, {a: np.asarray(ds.protected_test[a]) for a in t.attributes})
    if ctx.is_chief:
        ctx.rows.add("train_size", len(fit), "count", split="train")
        ctx.rows.add("unprivileged_share_measured", float(unpriv[fit].mean()), "fraction", split="train")


def _record(ctx, t: BiasTreatment, y: np.ndarray, yhat: np.ndarray, groups: dict[str, np.ndarray]) -> None:
    from .aif360_adapter import classification_metrics, label_disparate_impact
    from .metrics import bootstrap, evaluate_groups, group_outcomes

    attrs = t.attributes
    for name, out in classification_metrics(y, yhat, groups, attrs).items():
        ctx.rows.add(name, out.value, UNITS[name], split="test", provenance="aif360" if out.reason is None else out.provenance)
    ctx.rows.add("label_disparate_impact", label_disparate_impact(y, groups, attrs), "ratio", split="test", provenance="aif360")
    names, matrix, counts, group_names = evaluate_groups(y, yhat, groups, attrs)
    for g in group_names:
        ctx.rows.add("group_size", float(counts[f"{g}|n"]), "count", split="test", group=g)
        for m, out in group_outcomes(counts, g).items():
            ctx.rows.add(f"group_{m}", out.value, "fraction", split="test", group=g, provenance=out.provenance)
    if t.bootstrap:
        how = f"bootstrap:{t.bootstrap} resamples, percentile 95%"
        for (m, g), (lo, hi, n_ok) in bootstrap(matrix, names, group_names, n_resamples=t.bootstrap, seed=ctx.trial.seed).items():
            metric = m if not g else f"group_{m}"
            prov = how if n_ok else "undefined:no resample defined"
            ctx.rows.add(f"{metric}_boot_low", lo, UNITS.get(m, "fraction"), split="test", group=g, provenance=prov)
            ctx.rows.add(f"{metric}_boot_high", hi, UNITS.get(m, "fraction"), split="test", group=g, provenance=prov)


@STUDIES.register("bias")
class BiasStudy(StudyKind):
    name = "bias"
    question = ("Does the model treat groups differently, how does that depend on how well each group is "
                "represented in the training data, and what does mitigation cost?")
    Treatment = BiasTreatment
    Options = BiasOptions
    descriptors: ClassVar[dict[str, str]] = {
        "dataset": "data.name", "n_train": "data.n_train", "protected": "treatment.protected",
        "unprivileged_share": "treatment.unprivileged_share", "mitigation": "treatment.mitigation"}

    def check(self, study: Any, options: Any) -> None:
        for sweep in study.sweeps or [None]:
            axes = sweep.axes if sweep else {}
            shares = axes.get("treatment.unprivileged_share", [study.treatment.get("unprivileged_share")])
            sizes = axes.get("data.n_train", [study.data.n_train])
            if any(v is not None for v in shares) and any(n is None for n in sizes):
                raise ValueError("data.n_train: set it when treatment.unprivileged_share is used "
                                 "(the training size is kept fixed while the composition varies)")

    def prepare_data(self, ctx) -> None:
        t = ctx.treatment
        ctx.info["bias"] = t
        _compose(ctx, t)

    def after_training(self, ctx) -> None:
        from .aif360_adapter import apply_postprocessor, fit_postprocessor
        from ...train.evaluate import predict_proba

        t: BiasTreatment = ctx.info["bias"]
        test = ctx.splits["test"]
        p_test = predict_proba(ctx.engine, test)[:, 1]  # every rank: forward passes under ZeRO-3 need all
        p_val = predict_proba(ctx.engine, ctx.splits["val"])[:, 1] if t.mitigation in ("calibrated_eq_odds", "reject_option") else None
        if not ctx.is_chief:
            return
        yhat = (p_test >= 0.5).astype(np.int64)
        if p_val is not None:
            val = ctx.splits["val"]
            post = fit_postprocessor(t.mitigation, val.y, p_val, val.groups, t.attributes, seed=ctx.trial.seed)
            yhat = apply_postprocessor(post, p_test, test.groups, t.attributes)
        _record(ctx, t, np.asarray(test.y), yhat, test.groups)

    def analyze(self, rows: pl.DataFrame, options: BiasOptions, *, measure: Any) -> dict[str, Any]:
        from .analysis import BiasAnalysis

        findings = BiasAnalysis(primary_metric=options.primary_metric).fit(rows).findings_
        return json_safe({"question": self.question, **findings})  # undefined values are null; reasons alongside

    def figures(self, rows: pl.DataFrame, findings: dict[str, Any], out_dir: Path) -> list[Path]:
        from .figures import make_figures

        return make_figures(findings, out_dir)

    def report(self, findings: dict[str, Any], figures: list[Path]) -> str:
        from .report import bias_markdown

        return bias_markdown(findings, figures)

    def headlines(self, findings: dict[str, Any]) -> list[dict[str, Any]]:
        from .report import bias_headlines

        return bias_headlines(findings)

    def wandb_panels(self) -> tuple[tuple[str, ...], list[Any]]:
        import wandb_workspaces.reports.v2 as wr

        summary = wr.SummaryMetric
        return ("loss",), [wr.BarPlot(title="group metrics", metrics=[summary("disparate_impact"), summary("statistical_parity_difference")])]
