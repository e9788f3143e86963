"""A planted ground-truth feature: a small corner patch whose intensity encodes the label.

Used to measure localisation (does the attribution mass fall on the patch the model was given?)
and reliance (how much accuracy falls when the patch carries a random class instead).
"""

from __future__ import annotations

import numpy as np


def patch_indices(image_shape: tuple[int, ...], size: int) -> np.ndarray:
    """Flat indices of the top-left ``size`` × ``size`` patch of every channel of a (C, H, W) image."""
    c, h, w = image_shape
    mask = np.zeros((c, h, w), bool)
    mask[:, :size, :size] = True
    return np.flatnonzero(mask.reshape(-1))


def patch_values(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Intensity per label: evenly spaced in [1.5, 4.5] standard deviations (outside most natural corner values)."""
    return (1.5 + 3.0 * labels / max(n_classes - 1, 1)).astype(np.float32)


def stamp(x: np.ndarray, labels: np.ndarray, indices: np.ndarray, n_classes: int) -> np.ndarray:
    """A copy of ``x`` with the patch set to the intensity of ``labels`` (row-wise)."""
    out = np.array(x, dtype=np.float32, copy=True)
    out[:, indices] = patch_values(np.asarray(labels), n_classes)[:, None]
    return out


def stamp_fraction(x: np.ndarray, y: np.ndarray, indices: np.ndarray, n_classes: int, fraction: float, *,
                   seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stamp the true label on a seeded random ``fraction`` of rows; returns (x, stamped mask)."""
    rng = np.random.default_rng(seed)
    chosen = rng.random(len(y)) < fraction
    out = np.array(x, dtype=np.float32, copy=True)
    out[chosen] = stamp(x[chosen], y[chosen], indices, n_classes)
    return out, chosen


def random_other_labels(y: np.ndarray, n_classes: int, *, seed: int) -> np.ndarray:
    """A label different from ``y`` per row (uniform over the other classes)."""
    rng = np.random.default_rng(seed)
    return (y + rng.integers(1, n_classes, size=len(y))) % n_classes


def localisation(attributions: np.ndarray, indices: np.ndarray) -> dict[str, float]:
    """Share of |attribution| mass on the patch, its area share, and their ratio (1 = no better than area)."""
    mass = np.abs(attributions)
    total = mass.sum(1)
    share = np.where(total > 0, mass[:, indices].sum(1) / np.where(total > 0, total, 1.0), np.nan)
    area = len(indices) / attributions.shape[1]
    return {"share": float(np.nanmean(share)), "area_share": area, "lift": float(np.nanmean(share) / area)}
