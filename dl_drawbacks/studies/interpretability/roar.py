"""ROAR, remove and retrain (Hooker et al. 2019, NeurIPS, "A Benchmark for Interpretability Methods in Deep
Neural Networks"): rank each image's features by the |attribution| of a model trained on the clean data, replace
the top-t fraction of every train and test image with an uninformative value, retrain a fresh model from scratch
on the degraded training set, test it on the equally degraded test set, and compare with a random ranking at the
same fractions: a method whose retrained accuracy falls faster than random's ranks truly informative features.

Here (worker side, run in ``prepare_data``): the source model is trained with ``train_twin`` from the trial's
seed (so every method and fraction of one seed ranks with the same model); its target is its own predicted
class; the fill value is the per-feature training mean (the paper uses the per-channel mean; digits has one
channel and per-pixel means keep a removed pixel at its typical value); ties in |attribution| are broken by a
seeded random key, not by position. The trial's own training is the retraining, its test accuracy the ROAR point.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .attributions import Explainer, predict
from .roar_summary import RANDOM


def ranking(attributions: np.ndarray, *, seed: int) -> np.ndarray:
    """Per row, feature indices from the largest |attribution| down; ties in a seeded random order."""
    a = np.abs(np.asarray(attributions, dtype=float))
    tiebreak = np.random.default_rng(seed).random(a.shape)
    return np.lexsort((tiebreak, -a), axis=-1)


def random_ranking(n: int, d: int, *, seed: int) -> np.ndarray:
    """A seeded random order of the ``d`` features per row, different for every row."""
    return np.argsort(np.random.default_rng(seed).random((n, d)), axis=-1)


def n_removed(fraction: float, d: int) -> int:
    """Features removed per row at ``fraction`` (rounded, at least 1 and at most d − 1)."""
    return int(min(max(round(fraction * d), 1), d - 1))


def degrade(x: np.ndarray, order: np.ndarray, fraction: float, fill: np.ndarray) -> np.ndarray:
    """A copy of ``x`` with each row's first ``n_removed(fraction)`` features of ``order`` set to ``fill``."""
    out = np.array(x, dtype=np.float32, copy=True)
    top = order[:, : n_removed(fraction, x.shape[1])]
    rows = np.arange(len(x))[:, None]
    out[rows, top] = np.broadcast_to(np.asarray(fill, np.float32), x.shape)[rows, top]
    return out


def _orders(ctx: Any, source: torch.nn.Module, xs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The ranking of every split's images by the trial's ROAR method (target: the source model's class)."""
    t, seed = ctx.treatment, ctx.trial.seed
    if t.roar_method == RANDOM:
        return {name: random_ranking(len(x), x.shape[1], seed=seed + i) for i, (name, x) in enumerate(xs.items())}
    explainer = Explainer(
        image_shape=ctx.dataset.image_shape, batch=t.batch, ig_steps=t.ig_steps, shap_samples=t.shap_samples
    )
    train = xs["train"]
    background = train[np.random.default_rng(seed).choice(len(train), size=min(32, len(train)), replace=False)]
    orders = {}
    for i, (name, x) in enumerate(xs.items()):
        target = predict(source, x).argmax(1)
        values = explainer.attribute(source, x, target, t.roar_method, background=background, seed=seed)
        orders[name] = ranking(values, seed=seed + i)
    return orders


def prepare_roar(ctx: Any) -> None:
    """Replace ctx.splits train and test by their ROAR-degraded copies; record the setting and the source model."""
    from ...train.context import Split
    from .twins import train_twin

    t, train, test = ctx.treatment, ctx.splits["train"], ctx.splits["test"]
    source = train_twin(ctx, train.x, train.y, seed=ctx.trial.seed)
    fill = np.asarray(train.x, np.float32).mean(axis=0)
    orders = _orders(ctx, source, {"train": np.asarray(train.x, np.float32), "test": np.asarray(test.x, np.float32)})
    if ctx.is_chief:
        source_accuracy = float((predict(source, test.x).argmax(1) == test.y).mean())
        ctx.rows.add("roar_fraction", t.roar_fraction, "fraction", group=t.roar_method, provenance="setting")
        ctx.rows.add(
            "roar_features_removed",
            n_removed(t.roar_fraction, train.x.shape[1]),
            "count",
            group=t.roar_method,
            provenance="setting",
        )
        ctx.rows.add("roar_source_accuracy", source_accuracy, "fraction", split="test", group=t.roar_method)
    for name, split in (("train", train), ("test", test)):
        ctx.splits[name] = Split(degrade(split.x, orders[name], t.roar_fraction, fill), split.y, split.groups)
    torch.manual_seed(ctx.trial.seed)  # the retrained model's start depends on the seed alone, not on method/fraction


def record_correct(ctx: Any, model: torch.nn.Module) -> None:
    """One row per test sample (epoch = its index): 1 when the model's prediction is right (nested intervals)."""
    test = ctx.splits["test"]
    correct = predict(model, test.x).argmax(1) == test.y
    for i, value in enumerate(correct):
        ctx.rows.add("correct", float(value), "bool", split="test", epoch=i)
