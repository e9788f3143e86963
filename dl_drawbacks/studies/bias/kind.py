"""Study 5 — bias: does the model treat groups differently, how does that depend on how well each
group is represented in the training data, and what does mitigation cost?

Worker side: compose the training data (the unprivileged share at a fixed size), hold out a
validation split, optionally drop proxy features or reweigh (aif360 Reweighing → per-sample loss
weights), train, then predict on test — optionally post-processed with a method fitted on the
validation split only, or replaced by aif360's in-processing prejudice remover — and record aif360's
group-fairness metrics, per-group rates, the mitigation's own diagnostics (mix rates, feasibility,
groups predicted constant) and every test sample's outcome, packed (``samples``), for the nested
interval over seeds × test samples computed in the analysis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from ...headline import Headline
from ...errors import DataError
from ...registry import STUDIES
from ...storage.files import json_safe
from ..base import StudyKind
from .group_names import record_group_names

UNITS = {
    "disparate_impact": "ratio",
    "statistical_parity_difference": "difference",
    "equal_opportunity_difference": "difference",
    "average_odds_difference": "difference",
    "theil_index": "index",
}
POSTPROCESSING = ("calibrated_eq_odds", "eq_odds", "reject_option")


class BiasTreatment(BaseModel):
    """Per-trial knobs; the three main ones are required so every trial records them as factors."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    protected: str | list[str] = Field(
        description="protected attribute, or a list for intersectional groups (e.g. [sex, race])"
    )
    unprivileged_share: float | None = Field(
        gt=0,
        lt=1,
        description="share of the unprivileged group in the training data at size data.n_train (null: the data's own)",
    )
    mitigation: Literal["none", "reweighing", "calibrated_eq_odds", "eq_odds", "reject_option", "prejudice_remover"] = (
        Field(
            description="none; reweighing (pre-processing); calibrated_eq_odds, eq_odds or reject_option "
                        "(post-processing "
            "fitted on the validation split); prejudice_remover (aif360 in-processing, replaces the network)"
        )
    )
    val_fraction: float = Field(
        0.2, gt=0, lt=1, description="share of the training rows held out as validation (post-processing fit)"
    )
    ceo_cost: Literal["fnr", "fpr", "weighted"] = Field(
        "fnr", description="the generalized rate calibrated equalized odds equalizes (Pleiss et al. 2017)"
    )
    prejudice_eta: float = Field(
        1.0, ge=0, description="prejudice remover's fairness penalty η (0: its own logistic regression, the reference)"
    )
    drop_features: list[str] = Field(
        default_factory=list,
        description="feature columns (or one-hot prefixes, e.g. relationship) removed from x: proxy ablation",
    )

    @property
    def attributes(self) -> list[str]:
        return [self.protected] if isinstance(self.protected, str) else list(self.protected)


class BiasOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    primary_metric: Literal[
        "disparate_impact", "statistical_parity_difference", "equal_opportunity_difference", "average_odds_difference"
    ] = Field("average_odds_difference", description="fairness metric that ranks mitigations and draws the frontier")
    resamples: int = Field(400, ge=50, description="test-set bootstrap resamples of every nested interval")
    gap_tolerance: float = Field(
        0.02, gt=0, description="representation sweep: a TPR or FPR gap 'closed' when its whole 95% interval lies "
        "within ±this (equalized odds closed when both are)"
    )


PROPUBLICA_DATASETS = ("compas",)  # error rates named ProPublica's way: by the unfavourable decision (high risk)


def orientation(rows: pl.DataFrame) -> str:
    """'propublica' when every trial ran on a data set in ``PROPUBLICA_DATASETS``, else 'favourable'."""
    from ...aggregate import with_factor_columns

    factors = with_factor_columns(rows.select("factors").unique()) if "factors" in rows.columns else rows
    names = set(factors["dataset"].to_list()) if "dataset" in factors.columns else set()
    return "propublica" if names and names <= set(PROPUBLICA_DATASETS) else "favourable"


def kept_features(names: tuple[str, ...], drop: list[str]) -> np.ndarray:
    """Column mask without the named features (a name drops the column itself and its one-hot 'name=' columns)."""
    keep = np.ones(len(names), bool)
    for d in drop:
        hit = np.array([n == d or n.startswith(f"{d}=") for n in names])
        if not hit.any():
            raise DataError(f"treatment.drop_features: no feature {d!r}; features are {', '.join(names)}")
        keep &= ~hit
    return keep


def _compose(ctx, t: BiasTreatment) -> None:
    """Fill ctx.splits train/val/test for the treatment (representation, hold-out, proxies, reweighing)."""
    from ...data.in_memory import load_arrays
    from ...train.context import Split
    from .aif360_adapter import reweighing_weights
    from .metrics import privileged_masks
    from .sampling import holdout, natural_indices, representation_indices

    spec = ctx.trial.data
    ds = load_arrays(spec.name, spec.options)
    ctx.dataset = ds
    missing = [a for a in t.attributes if a not in ds.protected_train]
    if ds.n_classes != 2 or missing:
        raise DataError(
            f"treatment.protected: dataset {spec.name!r} needs 2 classes and protected attributes "
            f"{', '.join(missing) or t.attributes}; it has {', '.join(ds.protected_train) or 'none'}"
        )
    cols = kept_features(ds.feature_names, t.drop_features)
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
    ctx.splits["train"] = Split(ds.x_train[fit][:, cols], y[fit], part(fit), weights=weights)
    ctx.splits["val"] = Split(ds.x_train[val][:, cols], y[val], part(val))
    ctx.splits["test"] = Split(
        ds.x_test[:, cols], ds.y_test, {a: np.asarray(ds.protected_test[a]) for a in t.attributes}
    )
    if ctx.is_chief:
        ctx.rows.add("train_size", len(fit), "count", split="train")
        ctx.rows.add("unprivileged_share_measured", float(unpriv[fit].mean()), "fraction", split="train")
        ctx.rows.add("features_used", int(cols.sum()), "count", split="train", provenance="counted")


def record_outcomes(
    rows, attrs: list[str], y: np.ndarray, yhat: np.ndarray, score: np.ndarray, groups: dict[str, np.ndarray]
) -> None:
    """aif360's metrics, per-group rates, groups predicted constant, and the packed test samples."""
    from .aif360_adapter import classification_metrics, label_disparate_impact
    from .metrics import evaluate_groups, group_outcomes, privileged_masks
    from .samples import add_sample_rows, cell_codes

    for name, out in classification_metrics(y, yhat, groups, attrs).items():
        rows.add(
            name, out.value, UNITS[name], split="test", provenance="aif360" if out.reason is None else out.provenance
        )
    rows.add(
        "label_disparate_impact", label_disparate_impact(y, groups, attrs), "ratio", split="test", provenance="aif360"
    )
    _, _, counts, group_names = evaluate_groups(y, yhat, groups, attrs)
    for g in group_names:
        rows.add("group_size", float(counts[f"{g}|n"]), "count", split="test", group=g)
        for m, out in group_outcomes(counts, g).items():
            rows.add(f"group_{m}", out.value, "fraction", split="test", group=g, provenance=out.provenance)
    for g, mask in zip(("privileged", "unprivileged"), privileged_masks(groups, attrs)):
        values = np.unique(yhat[mask])
        constant = mask.any() and len(values) == 1
        rows.add(
            "constant_prediction",
            float(constant),
            "flag",
            split="test",
            group=g,
            provenance=f"constant:every {g} sample predicted {int(values[0])}" if constant else "measured",
        )
    add_sample_rows(rows, cell_codes(groups, attrs), y, yhat, score, len(attrs))


def record_compas_reference(rows, attrs: list[str], options: dict, test) -> None:
    """COMPAS's own decisions on these test defendants (``REFERENCE`` samples), to pair with the model's."""
    from .compas_reference import decile_decisions, test_deciles
    from .samples import REFERENCE, add_sample_rows, cell_codes

    yhat, score = decile_decisions(test_deciles(options))
    add_sample_rows(rows, cell_codes(test.groups, attrs), np.asarray(test.y), yhat, score, len(attrs), metric=REFERENCE)


def mitigated_predictions(ctx, t: BiasTreatment, p_test: np.ndarray, p_val: np.ndarray | None):
    """(ŷ, score, status, reason) on test; status 'infeasible' means no mitigated prediction exists."""
    from .aif360_adapter import apply_postprocessor, ceo_mix_rates, fit_postprocessor, prejudice_remover
    from .calibration import GroupPlatt
    from .samples import cell_codes

    test, val, attrs = ctx.splits["test"], ctx.splits["val"], t.attributes
    if t.mitigation == "prejudice_remover":
        train = ctx.splits["train"]
        score = prejudice_remover(train.x, train.y, train.groups, test.x, test.groups, attrs[0], eta=t.prejudice_eta)
        ctx.rows.add("prejudice_eta", t.prejudice_eta, "penalty", split="train", provenance="treatment")
        return (score >= 0.5).astype(np.int64), score, "ok", None
    if p_val is None:
        return (p_test >= 0.5).astype(np.int64), p_test, "ok", None
    if t.mitigation == "calibrated_eq_odds":
        cal = GroupPlatt().fit(p_val, val.y, cell_codes(val.groups, attrs))
        p_val, p_test = cal.transform(p_val, cell_codes(val.groups, attrs)), cal.transform(
            p_test, cell_codes(test.groups, attrs)
        )
    post = fit_postprocessor(t.mitigation, val.y, p_val, val.groups, attrs, seed=ctx.trial.seed, cost=t.ceo_cost)
    if t.mitigation == "calibrated_eq_odds":
        rates = ceo_mix_rates(post)
        for g, r in rates.items():
            ctx.rows.add("ceo_mix_rate", r, "probability", split="val", group=g, provenance="aif360 fit on validation")
        bad = {g: r for g, r in rates.items() if not 0 <= r <= 1}
        if bad:
            return (
                None,
                None,
                "infeasible",
                (
                    "calibrated equalized odds mix rate "
                    + ", ".join(f"{g} {r:.3g}" for g, r in bad.items())
                    + " outside [0, 1]: the trivial predictor cannot equalize the cost"
                ),
            )
    yhat, score = apply_postprocessor(post, p_test, test.groups, attrs)
    return yhat, score, "ok", None


@STUDIES.register("bias")
class BiasStudy(StudyKind):
    name = "bias"
    question = (
        "Does the model treat groups differently, how does that depend on how well each group is "
        "represented in the training data, and what does mitigation cost?"
    )
    Treatment = BiasTreatment
    Options = BiasOptions
    row_columns = ("trial_id", "seed", "factors", "metric", "split", "group", "step", "value", "provenance")
    descriptors: ClassVar[dict[str, str]] = {
        "dataset": "data.name",
        "n_train": "data.n_train",
        "protected": "treatment.protected",
        "unprivileged_share": "treatment.unprivileged_share",
        "mitigation": "treatment.mitigation",
    }
    # treatment.drop_features is recorded as a factor by the sweep that varies it (absent: every feature kept)

    def check(self, study: Any, options: Any) -> None:
        for sweep in study.sweeps or [None]:
            axes = sweep.axes if sweep else {}
            shares = axes.get("treatment.unprivileged_share", [study.treatment.get("unprivileged_share")])
            sizes = axes.get("data.n_train", [study.data.n_train])
            if any(v is not None for v in shares) and any(n is None for n in sizes):
                raise ValueError(
                    "data.n_train: set it when treatment.unprivileged_share is used "
                    "(the training size is kept fixed while the composition varies)"
                )
            mitigations = axes.get("treatment.mitigation", [study.treatment.get("mitigation")])
            protected = axes.get("treatment.protected", [study.treatment.get("protected")])
            if "prejudice_remover" in mitigations and any(isinstance(p, list) and len(p) > 1 for p in protected):
                raise ValueError("treatment.mitigation: prejudice_remover takes one protected attribute, not a list")
        if study.data.name == "compas":
            from ...data.compas import compas_file

            compas_file(study.data.options.get("path"))

    def plan_trials(self, study: Any, options: Any, trials: list) -> list:
        """A relative ``data.options.path`` is the driver's: made absolute so Ray workers (other cwd) find it."""
        out = []
        for t in trials:
            path = t.data.options.get("path")
            if path and not Path(path).expanduser().is_absolute():
                data = t.data.model_copy(
                    update={"options": {**t.data.options, "path": str(Path(path).expanduser().resolve())}}
                )
                t = t.model_copy(update={"data": data})
            out.append(t)
        return out

    def prepare_data(self, ctx) -> None:
        t = ctx.treatment
        ctx.info["bias"] = t
        _compose(ctx, t)

    def after_training(self, ctx) -> None:
        from ...train.evaluate import predict_proba

        t: BiasTreatment = ctx.info["bias"]
        test = ctx.splits["test"]
        p_test = predict_proba(ctx.engine, test)[:, 1].astype(np.float64)  # every rank: ZeRO-3 forwards need all
        p_val = (
            predict_proba(ctx.engine, ctx.splits["val"])[:, 1].astype(np.float64)
            if t.mitigation in POSTPROCESSING
            else None
        )
        if not ctx.is_chief:
            return
        yhat, score, status, reason = mitigated_predictions(ctx, t, p_test, p_val)
        ctx.rows.add(
            "mitigation_feasible",
            float(status == "ok"),
            "flag",
            split="test",
            provenance="measured" if reason is None else f"infeasible:{reason}",
        )
        record_group_names(ctx.rows, ctx.dataset.group_names, t.attributes)
        if yhat is not None:
            record_outcomes(ctx.rows, t.attributes, np.asarray(test.y), yhat, score, test.groups)
        if ctx.trial.data.name == "compas":
            record_compas_reference(ctx.rows, t.attributes, ctx.trial.data.options, test)

    probabilities: ClassVar[bool] = True  # the scores are P(favourable): ECE applies (an audit's decile is not)

    def analyze(self, rows: pl.DataFrame, options: BiasOptions, *, measure: Any) -> dict[str, Any]:
        from .analysis import BiasAnalysis

        findings = (
            BiasAnalysis(
                primary_metric=options.primary_metric,
                resamples=options.resamples,
                gap_tolerance=options.gap_tolerance,
                orientation=orientation(rows),
                probabilities=self.probabilities,
            )
            .fit(rows)
            .findings_
        )
        return json_safe({"question": self.question, **findings})  # undefined values are null; reasons alongside

    def figures(self, rows: pl.DataFrame, findings: dict[str, Any], out_dir: Path) -> list[Path]:
        from .figures import make_figures

        return make_figures(findings, out_dir)

    def report(self, findings: dict[str, Any], figures: list[Path]) -> str:
        from .report import bias_markdown

        return bias_markdown(findings, figures)

    def headlines(self, findings: dict[str, Any]) -> list[Headline]:
        from .report import bias_headlines

        return bias_headlines(findings)

    def wandb_panels(self, findings: dict[str, Any]) -> list[Any]:
        from ...tracking.panels import Bars, Curves, Scatter, config, summary

        fairness = (
            "disparate_impact",
            "statistical_parity_difference",
            "equal_opportunity_difference",
            "average_odds_difference",
        )
        return [
            Curves("loss", ("loss/train", "loss/val")),
            Bars(
                "fairness metrics by mitigation", tuple(summary(f"{m}/test") for m in fairness), group_by="mitigation"
            ),
            Bars("test accuracy by mitigation", (summary("accuracy/test"),), group_by="mitigation"),
            Scatter(
                "disparate impact vs unprivileged share", config("unprivileged_share"), summary("disparate_impact/test")
            ),
        ]
