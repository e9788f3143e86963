"""Study 3 — overfitting and generalization: per-epoch train/validation/test curves and the gap, sweeps
over width, label noise, training-set size and regularizers, the random-label memorization test
(Zhang et al. 2017) and calibration (ECE, NLL, Brier, temperature scaling)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...headline import Headline
from ...errors import DataError
from ...registry import STUDIES
from ..base import StudyKind, holdout_splits
from .trials import PREDICTION_METRIC

if TYPE_CHECKING:
    from ...train.context import TrialContext


class OverfitTreatment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    label_noise: float = Field(
        0.0, ge=0, le=1, description="share of train labels replaced, seeded, by a different class drawn uniformly"
    )
    random_labels: bool = Field(False, description="shuffle all train labels (the random-label memorization test)")
    shuffle_pixels: bool = Field(
        False,
        description="one fixed permutation of the input's spatial positions (same for every channel, sample and split;"
        " seeded by PIXEL_PERMUTATION_SEED, not the trial seed), image or 1-D signal data only",
    )
    augment: bool = Field(False, description="random shifts + Gaussian noise on training inputs (image data only)")
    augment_shift: int = Field(1, ge=0, le=3, description="largest shift in pixels per direction (augment)")
    augment_noise: float = Field(0.1, ge=0, description="std of Gaussian input noise in standardised units (augment)")
    val_fraction: float = Field(
        0.2, gt=0, lt=1, description="share of the train split held out as validation before subsampling"
    )

    @model_validator(mode="after")
    def _one_corruption(self) -> "OverfitTreatment":
        if self.random_labels and self.label_noise > 0:
            raise ValueError("give random_labels or label_noise, not both")
        if self.shuffle_pixels and self.augment:
            raise ValueError("give shuffle_pixels or augment, not both (a shift of shuffled pixels shifts no image)")
        return self


class OverfitOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    width_sweep: str = Field(
        "width", description="sweep over model.params.width (× treatment.label_noise) for double descent"
    )
    regularization_sweep: str = Field(
        "regularization", description="sweep of regularizers; its trials with none set are the reference"
    )
    random_label_sweep: str = Field("random_labels", description="sweep over treatment.random_labels [false, true]")
    size_sweep: str = Field("train_size", description="sweep over data.n_train")
    fit_threshold: float = Field(
        0.99, gt=0, le=1, description="train accuracy on the training labels that counts as interpolating them"
    )
    design_past_threshold: float = Field(
        4.0, ge=1, description="the widest width must be this many times the interpolation threshold (and interpolate)"
        " for 'no peak' to be a finding; else the verdict is 'design cannot resolve'"
    )
    level: float = Field(0.95, gt=0.5, lt=1, description="confidence level of every interval")
    n_bootstrap: int = Field(1000, ge=100, description="test-set bootstrap resamples of the nested intervals")


def corrupt_labels(y: np.ndarray, n_classes: int, *, noise: float, shuffle: bool, seed: int) -> np.ndarray:
    """Labels with ``round(noise·n)`` entries moved to a uniformly drawn *different* class, or all shuffled."""
    rng = np.random.default_rng([seed, 1729])
    y = np.array(y)
    if shuffle:
        return rng.permutation(y)
    idx = rng.choice(len(y), size=round(noise * len(y)), replace=False)
    y[idx] = (y[idx] + rng.integers(1, n_classes, size=len(idx))) % n_classes
    return y


PIXEL_PERMUTATION_SEED = 2017  # one permutation for the data set, whatever the trial's seed


def shuffle_pixels(x: np.ndarray, image_shape: tuple[int, ...]) -> np.ndarray:
    """Flattened inputs (n, C·positions) with their spatial positions permuted by one fixed permutation, the same for
    every channel and sample (Zhang et al. 2017, Sec. 2, "shuffled pixels": "a random permutation of the pixels is
    chosen and then the same permutation is applied to all the images in both training and test set")."""
    channels, *spatial = image_shape
    positions = int(np.prod(spatial))
    perm = np.random.default_rng(PIXEL_PERMUTATION_SEED).permutation(positions)
    return np.ascontiguousarray(x.reshape(len(x), channels, positions)[:, :, perm].reshape(x.shape))


def shift_and_noise(
    x: torch.Tensor, image_shape: tuple[int, ...], *, shift: int, noise: float, gen: torch.Generator
) -> torch.Tensor:
    """Each input moved by an offset in [-shift, shift] per spatial axis ((dy, dx) for an image, along the length
    of a 1-D signal) with zero fill (the standardised mean), plus N(0, noise²)."""
    b = x.shape[0]
    img = x.reshape(b, *image_shape)
    spatial = image_shape[1:]
    pad = torch.nn.functional.pad(img, (shift, shift) * len(spatial))
    d = torch.randint(0, 2 * shift + 1, (b, len(spatial)), generator=gen)
    out = torch.empty_like(img)
    for offsets in {tuple(v) for v in d.tolist()}:
        m = (d == torch.tensor(offsets)).all(dim=1)
        window = tuple(slice(o, o + n) for o, n in zip(offsets, spatial))
        out[m] = pad[m][(..., *window)]
    out = out.reshape(b, -1)
    return out + noise * torch.randn(out.shape, generator=gen).to(out) if noise > 0 else out




def signed_confidence(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Top-class probability, negative where the top class is wrong (confidence >= 1/K > 0: the sign is exact)."""
    conf = proba.max(axis=1)
    return np.where(proba.argmax(axis=1) == y, conf, -conf)


@torch.no_grad()
def predict_logits(engine: Any, split: Any, *, batch: int = 1024) -> np.ndarray:
    """Float32 logits (n, classes) in evaluation mode; temperature scaling divides these (Guo et al. 2017)."""
    from ...train.batches import eval_batches

    engine.train(False)
    device = next(engine.module.parameters()).device
    out = [engine.forward(x).float().cpu().numpy() for x, _ in eval_batches(split, batch, device)]
    engine.train(True)
    return np.concatenate(out)


def refuse_non_image(option: str, modality: str, name: str) -> None:
    """A treatment that moves pixels (augment, shuffle_pixels) on a data set without spatial positions: one line."""
    if modality != "image":
        what = "augmentation (shifts, pixel noise)" if option == "augment" else "shuffled pixels"
        raise DataError(
            f"treatment.{option}: data set {name!r} is {modality}; {what} needs images or 1-D signals"
            f" — remove {option}"
        )


@STUDIES.register("overfitting")
class OverfittingStudy(StudyKind):
    name = "overfitting"
    question = "When and how much does the network overfit, what closes the gap, and are its probabilities calibrated?"
    Treatment = OverfitTreatment
    Options = OverfitOptions
    eval_logits = ("test",)  # on_eval keeps the test predictions of the best validation epoch
    row_columns = ("trial_id", "seed", "factors", "metric", "split", "group", "epoch", "value", "provenance")
    descriptors = {
        "family": "model.family",
        "size": "model.size",
        "n_train": "data.n_train",
        "weight_decay": "trainer.optimizer.weight_decay",
        "epochs": "trainer.budget.epochs",
    }

    def check(self, study: Any, options: Any) -> None:
        from ...data import load_dataset

        if study.trainer.budget.epochs is None or study.trainer.budget.eval_every != 0:
            raise ValueError(
                "trainer.budget: the overfitting study needs epochs (not steps) and eval_every: 0"
                " (evaluate every epoch)"
            )
        for option in ("augment", "shuffle_pixels"):
            values = [study.treatment.get(option, False)] + [
                v for s in study.sweeps for v in s.axes.get(f"treatment.{option}", [])
            ]
            if any(values):
                names = {study.data.name} | {v for s in study.sweeps for v in s.axes.get("data.name", [])}
                for name in names:
                    refuse_non_image(option, load_dataset(name, study.data.options).modality, name)

    def prepare_data(self, ctx: "TrialContext") -> None:
        from ...models.base import resolve_params
        from ...train.context import Split

        t = ctx.treatment
        holdout_splits(ctx, t.val_fraction)
        ds, train = ctx.dataset, ctx.splits["train"]
        if t.augment:
            refuse_non_image("augment", ds.modality, ds.name)
        if t.shuffle_pixels:
            refuse_non_image("shuffle_pixels", ds.modality, ds.name)
            for split in ctx.splits.values():  # train, val and test alike, before any split is derived from train
                split.x = shuffle_pixels(split.x, ds.image_shape)
        clean = train.y
        train.y = corrupt_labels(clean, ds.n_classes, noise=t.label_noise, shuffle=t.random_labels, seed=ctx.trial.seed)
        flipped = train.y != clean
        # evaluated every epoch like train/val/test: the clean-label fit, the uncorrupted subset, the memorized flips
        # (scored from the training set's logits: Split.rows_of)
        ctx.splits["train_clean"] = Split(train.x, clean, rows_of=("train", None))
        if flipped.any():
            kept, flips = np.flatnonzero(~flipped), np.flatnonzero(flipped)
            ctx.splits["train_kept"] = Split(train.x[kept], clean[kept], rows_of=("train", kept))
            ctx.splits["train_flipped"] = Split(train.x[flips], train.y[flips], rows_of=("train", flips))
        if not ctx.is_chief:
            return
        p = resolve_params(ctx.trial.model.family, ctx.trial.model.size, dict(ctx.trial.model.params))
        settings = {
            "width": getattr(p, "width", float("nan")),
            "depth": getattr(p, "depth", float("nan")),
            "dropout": getattr(p, "dropout", 0.0),
            "weight_decay": ctx.trial.trainer.optimizer.weight_decay,
            "label_noise": t.label_noise,
            "random_labels": float(t.random_labels),
            "shuffle_pixels": float(t.shuffle_pixels),
            "augment": float(t.augment),
            "augment_shift": float(t.augment_shift) if t.augment else 0.0,
            "augment_noise": t.augment_noise if t.augment else 0.0,
            "epochs": ctx.trial.trainer.budget.epochs,
            "n_classes": ds.n_classes,
            "labels_changed": float(np.mean(flipped)),
            "n_flipped": int(flipped.sum()),
        }
        for name, value in settings.items():
            ctx.rows.add("setting", value, "value", group=name, provenance="spec")

    def before_training(self, ctx: "TrialContext") -> None:
        ctx.info["best_val_loss"] = float("inf")
        t = ctx.treatment
        if not t.augment:
            return
        gen = torch.Generator().manual_seed(ctx.trial.seed)
        shape = ctx.dataset.image_shape

        def hook(module: torch.nn.Module, args: tuple) -> tuple | None:
            if not module.training:  # evaluation sees clean inputs
                return None
            x = shift_and_noise(args[0].cpu(), shape, shift=t.augment_shift, noise=t.augment_noise, gen=gen)
            return (x.to(args[0].device),)

        ctx.engine.module.register_forward_pre_hook(hook)

    def on_eval(self, ctx: "TrialContext", *, step: int, epoch: int, metrics: dict[str, dict[str, float]]) -> None:
        """Keep the test predictions of the epoch with the lowest validation loss (first one on ties):
        post-hoc early stopping, selected on validation, scored on test."""
        kept = ctx.eval_logits.get("test")  # this evaluation's own forward pass (every rank: ZeRO-3)
        logits = kept.cpu().numpy() if kept is not None else predict_logits(ctx.engine, ctx.splits["test"])
        if metrics["val"]["loss"] < ctx.info["best_val_loss"]:
            ctx.info.update(best_val_loss=metrics["val"]["loss"], best_val_epoch=epoch, best_val_logits=logits)

    def after_training(self, ctx: "TrialContext") -> None:
        from .calibration import TemperatureScaling, calibration_metrics, softmax

        val, test = ctx.splits["val"], ctx.splits["test"]
        z_val, z_test = predict_logits(ctx.engine, val), predict_logits(ctx.engine, test)  # every rank (ZeRO-3)
        if not ctx.is_chief:
            return
        ts = TemperatureScaling().fit(z_val, val.y)  # fitted on validation only; the test split is only scored
        ctx.rows.add("temperature", ts.temperature_, "value", split="val", provenance="calibration")
        ctx.rows.add("temperature_at_bound", float(ts.at_bound_), "bool", split="val", provenance="calibration")
        scored = {"final": softmax(z_test), "temperature_scaled": ts.transform(z_test)}
        if "best_val_logits" in ctx.info:
            ctx.rows.add("best_val_epoch", ctx.info["best_val_epoch"], "epoch", split="val")
            scored["best_val_epoch"] = softmax(ctx.info["best_val_logits"])
        for prov, proba in scored.items():
            if prov != "best_val_epoch":
                for metric, value in calibration_metrics(proba, test.y).items():
                    ctx.rows.add(
                        metric,
                        value,
                        "nats" if metric == "nll" else "value",
                        split="test",
                        provenance="calibration" if prov == "final" else prov,
                    )
            for i, v in enumerate(signed_confidence(proba, test.y)):
                ctx.rows.add(
                    PREDICTION_METRIC, v, "signed confidence", split="test", group=f"sample:{i}", provenance=prov
                )

    def analyze(self, rows: pl.DataFrame, options: OverfitOptions, *, measure: Any) -> dict[str, Any]:
        from .analysis import overfitting_findings

        return {"question": self.question, **overfitting_findings(rows, options)}

    def figures(self, rows: pl.DataFrame, findings: dict[str, Any], out_dir: Path) -> list[Path]:
        from . import figures as f

        if not findings.get("available"):
            return []
        made = [
            f.train_val_curves(rows, findings, out_dir),
            f.error_vs_width(findings, out_dir),
            f.regularizer_ablation(findings, out_dir),
            f.reliability_diagrams(findings, out_dir),
        ]
        return [p for p in made if p is not None]

    def report(self, findings: dict[str, Any], figures: list[Path]) -> str:
        from .report import overfitting_markdown

        return overfitting_markdown(findings, figures)

    def headlines(self, findings: dict[str, Any]) -> list[Headline]:
        from .report import overfitting_headlines

        return overfitting_headlines(findings)

    def wandb_panels(self, findings: dict[str, Any]) -> list[Any]:
        from ...tracking.panels import Bars, Curves, summary

        return [
            Curves("loss on train, validation and test", ("loss/train", "loss/val", "loss/test")),
            Curves("accuracy on train, validation and test", ("accuracy/train", "accuracy/val", "accuracy/test")),
            Bars(
                "train vs test accuracy by training size",
                (summary("accuracy/train"), summary("accuracy/test")),
                group_by="n_train",
            ),
        ]
