"""Study 6 — lack of interpretability: can we trust a network's explanations (faithfulness under several
baselines, sanity against a reference similarity, agreement, localisation of a planted feature the model is
shown to use, against a negative control), what do they cost, and what would an interpretable model
cost in accuracy — per model size and training length.

Trial roles: a *planted* trial trains on images of which ``planted_fraction`` carry a label-encoding
patch (the ground truth); a *clean* trial (``planted: false``) trains on the real data: it is the planted
model's negative control (probed with the same stamped images) and the model whose explanations are
audited (faithfulness, sanity, cost) and priced against tuned interpretable models; a *ROAR* trial
(``roar_fraction`` set) trains on train and test images degraded by one method's ranking (``roar.py``): its
training is the retraining of remove-and-retrain, its test accuracy a point of the ROAR curve, and it skips
the planted probe and the audit.
Attributions run on the chief alone after training, on a float32 copy of the trained model; ZeRO-3
(parameters partitioned across ranks) is refused, ZeRO 0-2 keep the whole model on every rank.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...headline import Headline
from ...registry import STUDIES
from ..base import StudyKind, default_splits
from .analysis import analyze_rows
from .planted import first_linear

Method = Literal[
    "saliency", "integrated_gradients", "input_x_gradient", "occlusion", "gradient_shap", "guided_backprop",
    "smoothgrad_sq", "vargrad",
]
Baseline = Literal["zero", "blur", "train_sample"]
Imputation = Literal["mean", "linear"]
RoarMethod = Literal["random", "saliency", "integrated_gradients", "input_x_gradient", "occlusion", "gradient_shap",
                     "guided_backprop", "smoothgrad_sq", "vargrad"]


class InterpretabilityTreatment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    planted: bool = Field(
        False,
        description="stamp a label-encoding corner patch on a fraction of training images; "
        "false: the clean model (negative control of the planted one, and the audited model)",
    )
    planted_fraction: float = Field(0.5, gt=0, le=1, description="share of training images that carry the patch")
    patch_size: int = Field(2, ge=1, le=4, description="side of the square top-left patch, in pixels")
    control_patch: bool = Field(
        True,
        description="negative control (planted: false): stamp a label-free patch (a random class's intensity) on the "
        "same share of training images, so that its patch pixels vary and their first-layer weights train; false: "
        "train on the data as is (a constant corner pixel then never trains its weights)",
    )
    n_explain: int = Field(
        64, ge=2, description="test samples explained (a fixed stratified subset, the same for every trial)"
    )
    methods: tuple[Method, ...] = Field(
        ("saliency", "integrated_gradients", "input_x_gradient", "occlusion", "gradient_shap"),
        min_length=1,
        description="captum attribution methods",
    )
    baselines: tuple[Baseline, ...] = Field(
        ("zero", "blur", "train_sample"),
        min_length=1,
        description="what deletion/insertion put in place of a removed feature",
    )
    ig_steps: int = Field(32, ge=2, description="integrated gradients: interpolation steps")
    shap_samples: int = Field(16, ge=1, description="gradient SHAP: samples per input")
    curve_steps: int = Field(16, ge=2, description="points of the deletion/insertion curves")
    n_robustness: int = Field(16, ge=1, description="explained samples scored by captum infidelity and max-sensitivity")
    batch: int = Field(32, ge=1, description="samples per attribution call (bounds memory)")
    sanity: bool = Field(True, description="run the randomisation tests (model: cascading; data: permuted labels)")
    twin_max_steps: int = Field(
        5000,
        ge=1,
        description="data-randomisation twin: most steps it trains to fit its permuted labels (it stops at 0.9 train "
        "accuracy on them; below that the data-randomisation verdict is refused)",
    )
    n_maps: int = Field(3, ge=0, le=16, description="attribution maps kept as rows for the figures")
    interpretable_val_fraction: float = Field(
        0.2,
        gt=0,
        lt=1,
        description="share of training rows that tune the "
        "interpretable models' regularisation (then refitted on all)",
    )
    roar_fraction: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="ROAR trial (remove and retrain): share of every train and test image's features replaced by "
        "the training mean in the order of roar_method, before this trial trains; None: not a ROAR trial",
    )
    roar_method: RoarMethod | None = Field(
        None,
        description="ROAR trial: the attribution method whose |attribution| (of a model trained on the clean data) "
        "ranks the features, or random (the reference ranking)",
    )
    roar_imputation: Imputation = Field(
        "mean",
        description="ROAR trial: what replaces a removed feature: mean (the per-feature training mean, Hooker et al. "
        "2019) or linear (ROAD's noisy linear imputation from the neighbours, Rong et al. 2022; image data only)",
    )
    roar_noise: float = Field(
        0.01, ge=0, description="ROAR trial, linear imputation: SD of the Gaussian noise added to an imputed feature"
    )

    @model_validator(mode="after")
    def _roar_settings(self) -> "InterpretabilityTreatment":
        if (self.roar_fraction is None) != (self.roar_method is None):
            raise ValueError(
                "treatment.roar_fraction and treatment.roar_method: a ROAR trial needs both; set neither otherwise"
            )
        if self.roar_fraction is not None and self.planted:
            raise ValueError(
                "treatment.roar_fraction: a ROAR trial retrains on clean data; set treatment.planted: false"
            )
        return self


class InterpretabilityOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    min_accuracy: float = Field(
        0.85,
        ge=0,
        le=1,
        description="a condition (model size × training length) enters the "
        "headlines only when its clean models reach this mean test accuracy",
    )
    confidence: float = Field(0.95, gt=0, lt=1, description="level of every interval")


def _axis_values(study: Any, path: str, base: Any) -> list[Any]:
    values = [base]
    for sweep in study.sweeps:
        values += sweep.axes.get(path, [])
    return values


@STUDIES.register("interpretability")
class InterpretabilityStudy(StudyKind):
    name = "interpretability"
    question = (
        "Can we trust this model's explanations (faithful, sensitive to the weights, consistent, on the planted "
        "feature), what do they cost, and what would a model interpretable by construction cost in accuracy?"
    )
    Treatment = InterpretabilityTreatment
    Options = InterpretabilityOptions
    row_columns = ("trial_id", "seed", "factors", "metric", "split", "group", "step", "epoch", "value")
    default_concurrency: ClassVar[int | None] = 2
    descriptors = {
        "family": "model.family",
        "size": "model.size",
        "steps": "trainer.budget.steps",
        "epochs": "trainer.budget.epochs",
        "n_train": "data.n_train",
        "workers": "trainer.workers",
    }

    def check(self, study: Any, options: Any) -> None:
        if 3 in _axis_values(study, "trainer.deepspeed.zero_stage", study.trainer.deepspeed.zero_stage):
            raise ValueError(
                "trainer.deepspeed.zero_stage: interpretability explains the model on the chief alone and cannot "
                "under ZeRO-3 (parameters are partitioned across ranks); use zero_stage 0, 1 or 2"
            )
        if "text_bytes" in _axis_values(study, "data.name", study.data.name) or "gpt" in _axis_values(
            study, "model.family", study.model.family
        ):
            raise ValueError(
                "data.name: attributions need real-valued features (tabular or image data, e.g. digits, adult); "
                "token models are not supported"
            )
        from ...data.base import dataset_modality

        names = _axis_values(study, "data.name", study.data.name)
        images = all(dataset_modality(n, study.data.options if n == study.data.name else None) == "image"
                     for n in names)
        planted = _axis_values(study, "treatment.planted", study.treatment.get("planted", False))
        if any(planted) and not images:
            raise ValueError("treatment.planted: the planted patch needs image data; use data.name digits or mnist1d")
        if "linear" in _axis_values(study, "treatment.roar_imputation", study.treatment.get("roar_imputation")) \
                and not images:
            raise ValueError("treatment.roar_imputation: linear imputes from neighbouring pixels and needs image data; "
                             "use mean")
        if "blur" in study.treatment.get("baselines", ("blur",)) and not images:
            raise ValueError("treatment.baselines: the blur baseline needs image data; list zero and/or train_sample")

    def prepare_data(self, ctx) -> None:
        """Image data: the patch probes of every trial (test with the true-label and with a wrong-label patch);
        a planted trial also stamps its training images."""
        from .planted import patch_indices, random_labels, random_other_labels, stamp, stamp_fraction
        from ...train.context import Split

        default_splits(ctx)
        t, ds, train, test = ctx.treatment, ctx.dataset, ctx.splits["train"], ctx.splits["test"]
        if t.roar_fraction is not None:  # no patch probes: a ROAR trial only needs its degraded test accuracy
            from .roar import prepare_roar

            prepare_roar(ctx)
            return
        if ds.image_shape is None:
            return
        idx = patch_indices(ds.image_shape, t.patch_size)
        if t.planted or t.control_patch:  # the control's patch carries a random class: label-free, but trained
            encoded = train.y if t.planted else random_labels(len(train), ds.n_classes, seed=ctx.trial.seed + 1)
            x_train, _ = stamp_fraction(train.x, encoded, idx, ds.n_classes, t.planted_fraction, seed=ctx.trial.seed)
            ctx.splits["train"] = Split(x_train, train.y, train.groups)
        ctx.splits["test_planted"] = Split(stamp(test.x, test.y, idx, ds.n_classes), test.y, test.groups)
        wrong = random_other_labels(test.y, ds.n_classes, seed=ctx.trial.seed)
        ctx.splits["test_patch_random"] = Split(stamp(test.x, wrong, idx, ds.n_classes), test.y, test.groups)
        ctx.info["patch"], ctx.info["wrong_labels"] = idx, wrong

    def before_training(self, ctx) -> None:
        """Image data: keep the first layer's weights on the patch pixels, to show at the end that they trained."""
        first = first_linear(ctx.model)
        if "patch" in ctx.info and first is not None and ctx.is_chief:
            ctx.info["patch_weights_at_start"] = first.weight.detach()[:, ctx.info["patch"]].float().cpu().clone()

    def after_training(self, ctx) -> None:
        if not ctx.is_chief:  # ZeRO 0-2: the chief holds the whole model; the others have nothing to add
            return
        from ...data.base import stratified_indices
        from .attributions import Explainer, predict
        from .audit import AuditSettings, audit_clean, probe_patch

        from .planted import patch_weight_change
        from .roar import record_correct

        t, test, train = ctx.treatment, ctx.splits["test"], ctx.splits["train"]
        ctx.rows.add("planted_fraction", t.planted_fraction if t.planted else 0.0, "fraction", provenance="setting")
        model = copy.deepcopy(ctx.model).float().to(ctx.device).eval()
        if not t.planted:  # per-sample correctness: the ROAR point, or the clean model's fraction-0 point
            record_correct(ctx, model)
        if t.roar_fraction is not None:  # ROAR trials skip the planted probe and the audit
            return
        chosen = stratified_indices(test.y, min(t.n_explain, len(test)), seed=0)
        x = np.asarray(test.x[chosen], np.float32)
        explainer = Explainer(
            image_shape=ctx.dataset.image_shape, batch=t.batch, ig_steps=t.ig_steps, shap_samples=t.shap_samples
        )
        rng = np.random.default_rng(ctx.trial.seed)
        background = train.x[rng.choice(len(train), size=min(32, len(train)), replace=False)]
        settings = AuditSettings(
            methods=t.methods,
            baselines=t.baselines,
            curve_steps=t.curve_steps,
            sanity=t.sanity,
            n_maps=t.n_maps,
            n_robustness=t.n_robustness,
            seed=ctx.trial.seed,
        )
        if "patch" in ctx.info:
            removed = predict(model, test.x).argmax(1) != predict(model, ctx.splits["test_planted"].x).argmax(1)
            ctx.rows.add("patch_removal_flips", float(removed.mean()), "fraction", split="test")
            follows = predict(model, ctx.splits["test_patch_random"].x).argmax(1) == ctx.info["wrong_labels"]
            ctx.rows.add("patch_follows_wrong", float(follows.mean()), "fraction", split="test")
            if "patch_weights_at_start" in ctx.info:
                ctx.rows.add("patch_weight_change", patch_weight_change(model, ctx.info), "relative norm",
                             provenance="first layer, patch inputs")
            probe_patch(
                model,
                x,
                test.y[chosen],
                ctx.rows.add,
                explainer,
                settings,
                indices=ctx.info["patch"],
                n_classes=ctx.dataset.n_classes,
                background=background,
            )
        if t.planted:  # the ground-truth probe only; the clean trial is the audited model
            return
        self._interpretable_baselines(ctx, t)
        audit_clean(
            model,
            x,
            ctx.rows.add,
            explainer,
            settings,
            background=background,
            train_x=train.x,
            twins=self._twins(ctx) if t.sanity else {},
        )

    @staticmethod
    def _twins(ctx) -> dict[str, Any]:
        """The reference (independently trained: another seed) and the data-randomisation twin (permuted labels)."""
        from .twins import fit_accuracy, permuted_labels, train_twin

        train, test, seed = ctx.splits["train"], ctx.splits["test"], ctx.trial.seed
        permuted = permuted_labels(train.y, seed=seed)
        independent, _ = train_twin(ctx, train.x, train.y, seed=seed + 7919)
        label_random, steps = train_twin(
            ctx, train.x, permuted, seed=seed + 7919, max_steps=ctx.treatment.twin_max_steps
        )
        ctx.rows.add("twin_steps", steps, "count", group="label_random")
        ctx.rows.add("twin_fit_accuracy", fit_accuracy(label_random, train.x, permuted), "fraction", split="train",
                     group="label_random", provenance="on its own (permuted) training labels")
        twins = {"independent": independent, "label_random": label_random}
        for name, twin in twins.items():
            for split_name, split in (("train", train), ("test", test)):
                ctx.rows.add("twin_accuracy", fit_accuracy(twin, split.x, split.y), "fraction", split=split_name,
                             group=name)
        return twins

    @staticmethod
    def _interpretable_baselines(ctx, t: InterpretabilityTreatment) -> None:
        """Interpretable models tuned on a validation part of the clean training rows, scored on the test split."""
        from .interpretable import tuned_interpretable_models

        train, test = ctx.splits["train"], ctx.splits["test"]
        for r in tuned_interpretable_models(
            train.x, train.y, seed=ctx.trial.seed, val_fraction=t.interpretable_val_fraction
        ):
            accuracy = float((r["estimator"].predict(test.x) == test.y).mean())
            ctx.rows.add(
                "interpretable_accuracy",
                accuracy,
                "fraction",
                split="test",
                group=r["model"],
                provenance="scikit-learn",
            )
            ctx.rows.add(
                "interpretable_accuracy",
                r["val_accuracy"],
                "fraction",
                split="val",
                group=r["model"],
                provenance="scikit-learn",
            )
            ctx.rows.add(
                f"interpretable_{r['knob']}",
                r["value"],
                "setting",
                split="val",
                group=r["model"],
                provenance="chosen on validation",
            )

    def analyze(self, rows: pl.DataFrame, options: InterpretabilityOptions, *, measure: Any) -> dict[str, Any]:
        return {"question": self.question, **analyze_rows(rows, options)}

    def figures(self, rows: pl.DataFrame, findings: dict[str, Any], out_dir: Path) -> list[Path]:
        from . import figures as f

        made = [
            f.attribution_maps(rows, findings, out_dir),
            f.deletion_insertion(rows, findings, out_dir),
            f.sanity_by_layer(findings, out_dir),
            f.roar_curves(findings, out_dir),
        ]
        return [p for p in made if p is not None]

    def report(self, findings: dict[str, Any], figures: list[Path]) -> str:
        from .report import interpretability_markdown

        return interpretability_markdown(findings, figures)

    def headlines(self, findings: dict[str, Any]) -> list[Headline]:
        from .report import interpretability_headlines

        return interpretability_headlines(findings)

    def wandb_panels(self, findings: dict[str, Any]) -> list[Any]:
        from ...tracking.panels import Bars, Curves, summary

        audits = [c.get("audit") for c in findings.get("conditions") or [] if isinstance(c, dict)]
        audit = next((a for a in audits if isinstance(a, dict) and a.get("available")), {})
        faithful = audit.get("faithfulness") if isinstance(audit.get("faithfulness"), dict) else {}
        pairs = sorted(f"{m}@{b}" for m, by in faithful.items() if isinstance(by, dict) for b in by)
        cost = audit.get("cost_seconds_per_sample")
        methods = sorted(cost) if isinstance(cost, dict) else []
        panels = [Curves("loss", ("loss/train", "loss/test")), Bars("model test accuracy", (summary("accuracy/test"),))]
        if pairs:
            panels.append(Bars("deletion AUC by attribution method @ baseline (lower: more faithful)",
                               tuple(summary(f"deletion_auc/test_explain/{p}") for p in pairs)))
        if methods:
            panels.append(Bars("explanation seconds per sample",
                               tuple(summary(f"explain_seconds_per_sample/test_explain/{m}") for m in methods)))
        return panels
