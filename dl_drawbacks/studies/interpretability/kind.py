"""Study 6 — lack of interpretability: can we trust a network's explanations (faithfulness, sanity,
agreement, localisation of a planted feature), what do they cost, and what would an interpretable
model cost in accuracy — across model sizes and training lengths.

Attributions run on the chief alone after training, on a float32 copy of the trained model; ZeRO-3
(parameters partitioned across ranks) is refused, ZeRO 0-2 keep the whole model on every rank.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from ...registry import STUDIES
from ..base import StudyKind, default_splits
from .analysis import analyze_rows

Method = Literal["saliency", "integrated_gradients", "input_x_gradient", "occlusion", "gradient_shap"]


class InterpretabilityTreatment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    planted: bool = Field(False, description="stamp a label-encoding corner patch on a fraction of training images (image data)")
    planted_fraction: float = Field(0.5, gt=0, le=1, description="share of training images that carry the patch")
    patch_size: int = Field(2, ge=1, le=4, description="side of the square top-left patch, in pixels")
    n_explain: int = Field(64, ge=2, description="test samples explained (a fixed stratified subset, the same for every trial)")
    methods: tuple[Method, ...] = Field(("saliency", "integrated_gradients", "input_x_gradient", "occlusion", "gradient_shap"),
                                        min_length=1, description="captum attribution methods")
    ig_steps: int = Field(32, ge=2, description="integrated gradients: interpolation steps")
    shap_samples: int = Field(16, ge=1, description="gradient SHAP: samples per input")
    curve_steps: int = Field(16, ge=2, description="points of the deletion/insertion curves")
    batch: int = Field(32, ge=1, description="samples per attribution call (bounds memory)")
    sanity: bool = Field(True, description="run the cascading model-randomisation test")
    n_maps: int = Field(3, ge=0, le=16, description="attribution maps kept as rows for the figures")
    tree_depth: int = Field(4, ge=1, le=12, description="depth of the interpretable decision tree")


class InterpretabilityOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    sanity_threshold: float = Field(0.5, gt=-1, lt=1, description="a method fails the randomisation test when its mean Spearman "
                                    "similarity after randomising every layer stays above this")
    confidence: float = Field(0.95, gt=0, lt=1, description="level of the t intervals over seeds")


def _axis_values(study: Any, path: str, base: Any) -> list[Any]:
    values = [base]
    for sweep in study.sweeps:
        values += sweep.axes.get(path, [])
    return values


@STUDIES.register("interpretability")
class InterpretabilityStudy(StudyKind):
    name = "interpretability"
    question = ("Can we trust this model's explanations (faithful, sensitive to the weights, consistent, on the planted "
                "feature), what do they cost, and what would a model interpretable by construction cost in accuracy?")
    Treatment = InterpretabilityTreatment
    Options = InterpretabilityOptions
    default_concurrency: ClassVar[int | None] = 2
    descriptors = {"family": "model.family", "size": "model.size", "steps": "trainer.budget.steps",
                   "epochs": "trainer.budget.epochs", "n_train": "data.n_train", "workers": "trainer.workers"}

    def check(self, study: Any, options: Any) -> None:
        if 3 in _axis_values(study, "trainer.deepspeed.zero_stage", study.trainer.deepspeed.zero_stage):
            raise ValueError("trainer.deepspeed.zero_stage: interpretability explains the model on the chief alone and cannot "
                             "under ZeRO-3 (parameters are partitioned across ranks); use zero_stage 0, 1 or 2")
        if "text_bytes" in _axis_values(study, "data.name", study.data.name) or "gpt" in _axis_values(study, "model.family", study.model.family):
            raise ValueError("data.name: attributions need real-valued features (tabular or image data, e.g. digits, adult); "
                             "token models are not supported")
        planted = _axis_values(study, "treatment.planted", study.treatment.get("planted", False))
        if any(planted) and set(_axis_values(study, "data.name", study.data.name)) != {"digits"}:
            raise ValueError("treatment.planted: the planted patch needs image data; use data.name digits")

    def prepare_data(self, ctx) -> None:
        from .planted import patch_indices, random_other_labels, stamp, stamp_fraction
        from ...train.context import Split

        default_splits(ctx)
        t = ctx.treatment
        if not t.planted:
            return
        ds, train, test = ctx.dataset, ctx.splits["train"], ctx.splits["test"]
        idx = patch_indices(ds.image_shape, t.patch_size)
        x_train, _ = stamp_fraction(train.x, train.y, idx, ds.n_classes, t.planted_fraction, seed=ctx.trial.seed)
        ctx.splits["train"] = Split(x_train, train.y, train.groups)
        ctx.splits["test_planted"] = Split(stamp(test.x, test.y, idx, ds.n_classes), test.y, test.groups)
        wrong = random_other_labels(test.y, ds.n_classes, seed=ctx.trial.seed)
        ctx.splits["test_patch_random"] = Split(stamp(test.x, wrong, idx, ds.n_classes), test.y, test.groups)
        ctx.info["patch"] = idx

    def after_training(self, ctx) -> None:
        if not ctx.is_chief:  # ZeRO 0-2: the chief holds the whole model; the others have nothing to add
            return
        from ...data.base import stratified_indices
        from .attributions import Explainer
        from .audit import AuditSettings, audit_model

        t = ctx.treatment
        self._interpretable_baselines(ctx, t)
        test, train = ctx.splits["test"], ctx.splits["train"]
        chosen = stratified_indices(test.y, min(t.n_explain, len(test)), seed=0)
        model = copy.deepcopy(ctx.model).float().to(ctx.device).eval()
        explainer = Explainer(image_shape=ctx.dataset.image_shape, batch=t.batch, ig_steps=t.ig_steps, shap_samples=t.shap_samples)
        rng = np.random.default_rng(ctx.trial.seed)
        background = train.x[rng.choice(len(train), size=min(32, len(train)), replace=False)]
        patch = (ctx.info["patch"], test.y[chosen], ctx.dataset.n_classes) if t.planted else None
        ctx.rows.add("planted_fraction", t.planted_fraction if t.planted else 0.0, "fraction", provenance="setting")
        settings = AuditSettings(methods=t.methods, curve_steps=t.curve_steps, sanity=t.sanity, n_maps=t.n_maps, seed=ctx.trial.seed)
        audit_model(model, np.asarray(test.x[chosen], np.float32), ctx.rows.add, explainer, settings, background=background, patch=patch)

    @staticmethod
    def _interpretable_baselines(ctx, t: InterpretabilityTreatment) -> None:
        """Logistic regression and a shallow tree on the same training rows, scored on every split."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.tree import DecisionTreeClassifier

        train = ctx.splits["train"]
        models = {"logistic_regression": LogisticRegression(max_iter=2000),
                  f"decision_tree_depth{t.tree_depth}": DecisionTreeClassifier(max_depth=t.tree_depth, random_state=ctx.trial.seed)}
        for name, clf in models.items():
            clf.fit(train.x, train.y)
            for split_name, split in ctx.splits.items():
                ctx.rows.add("interpretable_accuracy", float((clf.predict(split.x) == split.y).mean()), "fraction",
                             split=split_name, group=name, provenance="scikit-learn")

    def analyze(self, rows: pl.DataFrame, options: InterpretabilityOptions, *, measure: Any) -> dict[str, Any]:
        return {"question": self.question, **analyze_rows(rows, options)}

    def figures(self, rows: pl.DataFrame, findings: dict[str, Any], out_dir: Path) -> list[Path]:
        from . import figures as f

        made = [f.attribution_maps(rows, findings, out_dir), f.deletion_insertion(rows, findings, out_dir),
                f.sanity_by_layer(findings, out_dir), f.faithfulness_vs_size(findings, out_dir)]
        return [p for p in made if p is not None]

    def report(self, findings: dict[str, Any], figures: list[Path]) -> str:
        from .report import interpretability_markdown

        return interpretability_markdown(findings, figures)

    def headlines(self, findings: dict[str, Any]) -> list[dict[str, Any]]:
        from .report import interpretability_headlines

        return interpretability_headlines(findings)

    def wandb_panels(self, findings: dict[str, Any]) -> list[Any]:
        from ...tracking.findings_tables import finding_tables
        from ...tracking.panels import Bars, Curves, summary

        methods = sorted({r["method"] for t in finding_tables(findings).values() for r in t if isinstance(r.get("method"), str)})
        panels = [Curves("loss", ("loss/train", "loss/test")), Bars("model test accuracy", (summary("accuracy/test"),))]
        if methods:
            panels += [Bars("deletion AUC by attribution method (lower: more faithful)",
                            tuple(summary(f"deletion_auc/test_explain/{m}") for m in methods)),
                       Bars("explanation seconds per sample", tuple(summary(f"explain_seconds_per_sample/test_explain/{m}")
                                                                    for m in methods))]
        return panels
