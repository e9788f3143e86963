"""ROAR, remove and retrain (Hooker et al. 2019, NeurIPS, "A Benchmark for Interpretability Methods in Deep
Neural Networks"): rank each image's features by the |attribution| of a model trained on the clean data, replace
the top-t fraction of every train and test image with an uninformative value, retrain a fresh model from scratch
on the degraded training set, test it on the equally degraded test set, and compare with a random ranking at the
same fractions: a method whose retrained accuracy falls faster than random's ranks truly informative features.

Here (worker side, run in ``prepare_data``): the source model is trained with ``train_twin`` from the trial's
seed (so every method and fraction of one seed ranks with the same model); its target is its own predicted
class; ties in |attribution| are broken by a seeded random key, not by position; removed features are filled by
``treatment.roar_imputation`` (``imputation.py``: the training mean, or ROAD's noisy linear imputation). The
trial's own training is the retraining, its test accuracy the ROAR point.

The mask-only control (Rong et al. 2022, sec. 4.1, "class information leakage"; their reference code trains a
classifier on the removal masks alone): a logistic regression fitted on the training images' binary removal masks
predicts the test images' labels from their masks; the same fit on random masks of the same size is its
reference. When the mask alone predicts the label well above random masks, a retrained model can read the label
from where the features were removed, and the ROAR comparison is confounded (``roar_summary.py`` refuses it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .attributions import Explainer, predict
from .imputation import fill_mean, noisy_linear_impute
from .imputation import RANDOM


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


def removal_mask(order: np.ndarray, fraction: float) -> np.ndarray:
    """(n, d) bool: True on each row's first ``n_removed(fraction)`` features of ``order``."""
    mask = np.zeros(order.shape, bool)
    np.put_along_axis(mask, order[:, : n_removed(fraction, order.shape[1])], True, axis=1)
    return mask


def mask_only_correct(
    train_mask: np.ndarray, y_train: np.ndarray, test_mask: np.ndarray, y_test: np.ndarray
) -> np.ndarray:
    """Per test sample, 1 when a logistic regression fitted on the training removal masks alone predicts the label
    from the test mask (Rong et al. 2022, sec. 4.1: class information leaked by the mask)."""
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression(max_iter=1000).fit(np.asarray(train_mask, float), y_train)
    return (fitted.predict(np.asarray(test_mask, float)) == np.asarray(y_test)).astype(float)


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

    t, train, test, seed = ctx.treatment, ctx.splits["train"], ctx.splits["test"], ctx.trial.seed
    source, _ = train_twin(ctx, train.x, train.y, seed=seed)
    fill = np.asarray(train.x, np.float32).mean(axis=0)
    xs = {"train": np.asarray(train.x, np.float32), "test": np.asarray(test.x, np.float32)}
    masks = {name: removal_mask(order, t.roar_fraction) for name, order in _orders(ctx, source, xs).items()}
    if ctx.is_chief:
        _mask_only_rows(ctx, masks)
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
        ctx.rows.add("roar_imputation_noise", t.roar_noise if t.roar_imputation == "linear" else 0.0, "data units",
                     group=t.roar_imputation, provenance="setting")
    for i, (name, split) in enumerate((("train", train), ("test", test))):
        if t.roar_imputation == "linear":
            x = noisy_linear_impute(xs[name], masks[name], ctx.dataset.image_shape, noise=t.roar_noise, seed=seed + i)
        else:
            x = fill_mean(xs[name], masks[name], fill)
        ctx.splits[name] = Split(x, split.y, split.groups)
    torch.manual_seed(seed)  # the retrained model's start depends on the seed alone, not on method/fraction


def _mask_only_rows(ctx: Any, masks: dict[str, np.ndarray]) -> None:
    """Per test sample: the mask-only classifier's correctness on this trial's masks and on random masks of the
    same size (the reference), both fitted on the training masks."""
    t, seed = ctx.treatment, ctx.trial.seed
    train, test = ctx.splits["train"], ctx.splits["test"]
    d = masks["train"].shape[1]
    random_masks = {
        name: removal_mask(random_ranking(len(m), d, seed=seed + 7001 + i), t.roar_fraction)
        for i, (name, m) in enumerate(masks.items())
    }
    for metric, m in (("roar_mask_only_correct", masks), ("roar_random_mask_correct", random_masks)):
        correct = mask_only_correct(m["train"], train.y, m["test"], test.y)
        for i, value in enumerate(correct):
            ctx.rows.add(metric, float(value), "bool", split="test", group=t.roar_method, epoch=i)


def record_correct(ctx: Any, model: torch.nn.Module) -> None:
    """One row per test sample (epoch = its index): 1 when the model's prediction is right (nested intervals)."""
    test = ctx.splits["test"]
    correct = predict(model, test.x).argmax(1) == test.y
    for i, value in enumerate(correct):
        ctx.rows.add("correct", float(value), "bool", split="test", epoch=i)
