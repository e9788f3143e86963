"""Synthetic overfitting-study rows with known answers, in the exact schema the worker writes."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import polars as pl
import pytest

from dl_drawbacks.rows import RowBuffer
from dl_drawbacks.studies.overfitting.kind import PREDICTION_METRIC, OverfitOptions

N_TEST = 400


def trial_rows(
    *,
    seed: int,
    sweep: str,
    test_correct: np.ndarray,
    train_acc: float,
    train_clean: float,
    width: int = 64,
    label_noise: float = 0.0,
    random_labels: bool = False,
    shuffle_pixels: bool = False,
    family: str | None = None,
    dropout: float = 0.0,
    weight_decay: float = 0.0,
    augment: bool = False,
    n_train: int = 500,
    epochs: int = 3,
    flipped_acc: float | None = None,
    kept_acc: float | None = None,
    confidence: np.ndarray | None = None,
    best_correct: np.ndarray | None = None,
    diverged: bool = False,
    val_acc: float | None = None,
) -> pl.DataFrame:
    """One trial: settings, per-epoch accuracies (the last epoch has the given values), test-sample predictions."""
    factors = {
        "sweep": sweep,
        "model.params.width": width,
        "treatment.label_noise": label_noise,
        "treatment.random_labels": random_labels,
        "model.params.dropout": dropout,
        "weight_decay": weight_decay,
        "treatment.augment": augment,
        "n_train": n_train,
        "epochs": epochs,
        **({"family": family} if family else {}),
        **({"treatment.shuffle_pixels": True} if shuffle_pixels else {}),
    }
    tid = "t" + str(abs(hash(tuple(sorted(factors.items())) + (seed,))))[:10]
    b = RowBuffer("overfitting", "run", tid, seed, factors)
    n_flipped = round((1.0 if random_labels else label_noise) * n_train)
    settings = {
        "width": width,
        "depth": 2,
        "dropout": dropout,
        "weight_decay": weight_decay,
        "label_noise": label_noise,
        "random_labels": float(random_labels),
        "shuffle_pixels": float(shuffle_pixels),
        "augment": float(augment),
        "epochs": epochs,
        "n_classes": 10,
        "labels_changed": n_flipped / n_train,
        "n_flipped": n_flipped,
    }
    for k, v in settings.items():
        b.add("setting", v, "value", group=k, provenance="spec")
    b.add("train_size", n_train, "count", provenance="spec")
    test_acc = float(np.mean(test_correct))
    for epoch in range(epochs):
        frac = (epoch + 1) / epochs
        values = {
            "train": train_acc * frac,
            "train_clean": train_clean * frac,
            "val": (test_acc if val_acc is None else val_acc) * frac,
            "test": test_acc * frac,
        }
        if n_flipped:
            values["train_flipped"] = (flipped_acc or 0.0) * frac
            values["train_kept"] = (min(1.0, train_clean) if kept_acc is None else kept_acc) * frac
        for split, acc in values.items():
            b.add("accuracy", acc, "fraction", split=split, epoch=epoch, step=epoch)
            b.add(
                "loss",
                1.0 - acc + (0.5 if split == "val" and epoch == epochs - 1 else 0.0),
                "nats",
                split=split,
                epoch=epoch,
                step=epoch,
            )
    b.add("diverged", float(diverged), "bool")
    if diverged:
        return b.frame()
    conf = np.full(len(test_correct), 0.9) if confidence is None else confidence
    b.add("best_val_epoch", max(epochs - 2, 0), "epoch", split="val")
    for prov, correct in (
        ("final", test_correct),
        ("temperature_scaled", test_correct),
        ("best_val_epoch", test_correct if best_correct is None else best_correct),
    ):
        for i, (c, p) in enumerate(zip(correct, conf)):
            b.add(
                PREDICTION_METRIC,
                p if c else -p,
                "signed confidence",
                split="test",
                group=f"sample:{i}",
                provenance=prov,
            )
    b.add("temperature", 1.5, "value", split="val", provenance="calibration")
    for metric in ("ece", "nll", "brier"):
        b.add(metric, 0.1, "value", split="test", provenance="calibration")
        b.add(metric, 0.05, "value", split="test", provenance="temperature_scaled")
    return b.frame()


def correct_with_accuracy(acc: float, rng: np.random.Generator, n: int = N_TEST) -> np.ndarray:
    """Exactly round(acc·n) correct test samples, in random order."""
    c = np.zeros(n, bool)
    c[: round(acc * n)] = True
    return rng.permutation(c)


def concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(frames, how="vertical")


@pytest.fixture
def options() -> Any:
    return OverfitOptions(n_bootstrap=200)


@pytest.fixture
def synth() -> SimpleNamespace:
    """The builders above, for test modules (importlib mode cannot import conftest by name)."""
    return SimpleNamespace(trial_rows=trial_rows, correct=correct_with_accuracy, concat=concat)
