"""Faithfulness of attributions: deletion and insertion curves and the areas under them.

Deletion: replace features with the baseline in decreasing attribution order and track the model's
probability of the explained class; a faithful attribution makes it fall fast (small area).
Insertion: start from the baseline and put features back in the same order; the probability should
rise fast (large area). A random order is the reference (Petsiuk et al. 2018, RISE, sec. 4.1: deletion
to a constant, insertion from a blurred image; Samek et al. 2017, MoRF region perturbation to noise).
What "removed" means is a baseline, and a method whose attribution uses the same baseline is favoured
by it (Tomsett et al. 2020, "Sanity checks for saliency metrics": the rankings of methods change with
the baseline and are unreliable; Hooker et al. 2019, ROAR, retrain because removal moves inputs off
the data distribution). So every curve is run under several baselines, side by side, never pooled:
``zero`` (the train mean of standardised data: IG's and occlusion's own baseline), ``blur`` (a Gaussian
blur of the image, RISE's insertion start) and ``train_sample`` (a random training image per sample,
like gradient SHAP's background).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.ndimage import gaussian_filter

BASELINES = ("zero", "blur", "train_sample")
ProbaFn = Callable[[np.ndarray], np.ndarray]  # (n, d) inputs -> (n, classes) probabilities


@dataclass(frozen=True)
class Curves:
    """Mean curves over samples at fractions 0, 1/steps, ..., 1 and per-sample areas under them."""

    fractions: np.ndarray
    deletion: np.ndarray  # (steps+1,) mean probability of the target class
    insertion: np.ndarray
    deletion_auc: np.ndarray  # (n,) trapezoid area over fraction in [0, 1]
    insertion_auc: np.ndarray


def order_ranks(attributions: np.ndarray) -> np.ndarray:
    """rank[i, f] = position of feature f when sample i's features are sorted by decreasing attribution."""
    order = np.argsort(-attributions, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(attributions.shape[1])[None, :].repeat(len(order), 0), axis=1)
    return ranks


def random_ranks(n: int, d: int, *, seed: int) -> np.ndarray:
    """A seeded random feature order per sample (the reference an attribution must beat)."""
    rng = np.random.default_rng(seed)
    return order_ranks(rng.random((n, d)))


def perturbation_curves(
    proba: ProbaFn,
    x: np.ndarray,
    target: np.ndarray,
    ranks: np.ndarray,
    *,
    baseline: float | np.ndarray = 0.0,
    steps: int = 16,
) -> Curves:
    """Deletion and insertion curves of ``x`` for features ordered by ``ranks`` (see order_ranks)."""
    n, d = x.shape
    base = np.broadcast_to(np.asarray(baseline, np.float32), x.shape)
    fractions = np.linspace(0.0, 1.0, steps + 1)
    rows = np.arange(n)
    dele, ins = np.empty((steps + 1, n)), np.empty((steps + 1, n))
    for j, frac in enumerate(fractions):
        k = int(round(frac * d))
        first_k = ranks < k
        dele[j] = proba(np.where(first_k, base, x).astype(np.float32))[rows, target]
        ins[j] = proba(np.where(first_k, x, base).astype(np.float32))[rows, target]
    dx = 1.0 / steps
    return Curves(
        fractions, dele.mean(1), ins.mean(1), np.trapezoid(dele, dx=dx, axis=0), np.trapezoid(ins, dx=dx, axis=0)
    )


def faithfulness(
    proba: ProbaFn,
    x: np.ndarray,
    target: np.ndarray,
    attributions: np.ndarray,
    *,
    baseline: float | np.ndarray = 0.0,
    steps: int = 16,
) -> Curves:
    """Deletion/insertion curves in the attribution's order (signed: evidence for the class first)."""
    return perturbation_curves(proba, x, target, order_ranks(attributions), baseline=baseline, steps=steps)


def random_faithfulness(
    proba: ProbaFn, x: np.ndarray, target: np.ndarray, *, seed: int, baseline: float | np.ndarray = 0.0, steps: int = 16
) -> Curves:
    return perturbation_curves(proba, x, target, random_ranks(*x.shape, seed=seed), baseline=baseline, steps=steps)


def baseline_inputs(
    x: np.ndarray,
    name: str,
    *,
    image_shape: tuple[int, ...] | None,
    train_x: np.ndarray,
    seed: int,
    blur_sigma: float = 1.0,
) -> np.ndarray:
    """The (n, d) "removed" values of ``x`` under baseline ``name`` (one of BASELINES)."""
    if name == "zero":
        return np.zeros_like(x, dtype=np.float32)
    if name == "blur":
        assert image_shape is not None, "the blur baseline needs image data (checked at planning)"
        images = np.asarray(x, np.float32).reshape(-1, *image_shape)
        sigma = (0, 0) + (blur_sigma,) * (images.ndim - 2)  # blur within each channel, never across samples
        return gaussian_filter(images, sigma=sigma).reshape(len(x), -1)
    if name == "train_sample":
        rng = np.random.default_rng(seed)
        return np.asarray(train_x[rng.integers(0, len(train_x), len(x))], np.float32)
    raise ValueError(f"unknown deletion/insertion baseline {name!r}; known: {', '.join(BASELINES)}")
