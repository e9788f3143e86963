"""A planted ground-truth feature: a small corner patch whose intensity encodes the label.

The patch is planted on a fraction of the training images of the *planted* model; its *negative
control* is the same trial trained without it. Both are probed the same way: reliance (accuracy and
prediction flips when the patch is removed) and localisation on test images with the patch stamped.
Localisation scores are magnitude-robust per sample: |attribution| normalised to sum 1 (share of
mass on the patch) and a rank AUC (the probability that a patch feature's |attribution| outranks a
non-patch feature's; 0.5 = chance). The patch is 1.5-4.5 SD bright, so input-scaled methods put
mass on it even in a model that never saw it: the control's score is the null the planted model
must beat (Adebayo et al. 2020, "Debugging tests for model explanations", spurious-signal test).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import nn


def patch_indices(image_shape: tuple[int, ...], size: int) -> np.ndarray:
    """Flat indices of the top-left ``size`` × ``size`` patch of every channel of a (C, H, W) image, or of the
    first ``size`` positions of every channel of a (C, L) signal."""
    mask = np.zeros(image_shape, bool)
    mask[(slice(None),) + (slice(0, size),) * (len(image_shape) - 1)] = True
    return np.flatnonzero(mask.reshape(-1))


def patch_values(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Intensity per label: evenly spaced in [1.5, 4.5] standard deviations (outside most natural corner values)."""
    return (1.5 + 3.0 * labels / max(n_classes - 1, 1)).astype(np.float32)


def stamp(x: np.ndarray, labels: np.ndarray, indices: np.ndarray, n_classes: int) -> np.ndarray:
    """A copy of ``x`` with the patch set to the intensity of ``labels`` (row-wise)."""
    out = np.array(x, dtype=np.float32, copy=True)
    out[:, indices] = patch_values(np.asarray(labels), n_classes)[:, None]
    return out


def stamp_fraction(
    x: np.ndarray, y: np.ndarray, indices: np.ndarray, n_classes: int, fraction: float, *, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stamp the true label on a seeded random ``fraction`` of rows; returns (x, stamped mask)."""
    rng = np.random.default_rng(seed)
    chosen = rng.random(len(y)) < fraction
    out = np.array(x, dtype=np.float32, copy=True)
    out[chosen] = stamp(x[chosen], y[chosen], indices, n_classes)
    return out, chosen


def random_labels(n: int, n_classes: int, *, seed: int) -> np.ndarray:
    """A uniformly random class per row: the label-free patch of the negative control."""
    return np.random.default_rng(seed).integers(0, n_classes, size=n)


def first_linear(model: nn.Module) -> nn.Linear | None:
    """The model's first layer when it is fully connected (one weight column per input feature), else None."""
    first = next((m for m in model.modules() if any(True for _ in m.parameters(recurse=False))), None)
    return first if isinstance(first, nn.Linear) else None


def patch_weight_change(model: nn.Module, info: dict[str, Any]) -> float:
    """‖W_end − W_start‖ / ‖W_start‖ of the first layer's weights on the patch inputs: near 0 when they never
    trained (a constant-zero input gets no gradient; only weight decay moves them)."""
    start = info["patch_weights_at_start"]
    end = first_linear(model).weight.detach()[:, info["patch"]].float().cpu()
    return float((end - start).norm() / start.norm().clamp_min(1e-12))


def random_other_labels(y: np.ndarray, n_classes: int, *, seed: int) -> np.ndarray:
    """A label different from ``y`` per row (uniform over the other classes)."""
    rng = np.random.default_rng(seed)
    return (y + rng.integers(1, n_classes, size=len(y))) % n_classes


def patch_scores(attributions: np.ndarray, indices: np.ndarray) -> dict[str, np.ndarray]:
    """Per sample: ``share`` of |attribution| on the patch (NaN for an all-zero map) and rank ``auc``.

    The AUC is the Mann-Whitney U of patch against non-patch |attribution| over k·(d−k), with average
    ranks for ties (a constant map scores 0.5).
    """
    mass = np.abs(np.asarray(attributions, float))
    total = mass.sum(1)
    share = np.where(total > 0, mass[:, indices].sum(1) / np.where(total > 0, total, 1.0), np.nan)
    k, d = len(indices), mass.shape[1]
    from scipy.stats import rankdata

    ranks = rankdata(mass, axis=1)
    auc = (ranks[:, indices].sum(1) - k * (k + 1) / 2) / (k * (d - k))
    return {"share": share, "auc": auc}
