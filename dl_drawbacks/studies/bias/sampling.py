"""Seeded training-set composition for the bias study: the unprivileged group's share at a fixed
training size (representation sweep), and a validation hold-out stratified by label × group."""

from __future__ import annotations

import numpy as np

from ...data.base import stratified_indices
from ...errors import DataError


def representation_indices(y: np.ndarray, unprivileged: np.ndarray, *, n: int, share: float, seed: int) -> np.ndarray:
    """``n`` train rows of which ``round(share·n)`` are unprivileged, each part stratified by label.

    Down-sampling only: both parts come without replacement from their own pools, so the size
    stays ``n`` while the composition changes.
    """
    n_unpriv = round(share * n)
    pools = {"unprivileged": np.flatnonzero(unprivileged), "other": np.flatnonzero(~unprivileged)}
    wanted = {"unprivileged": n_unpriv, "other": n - n_unpriv}
    for name, pool in pools.items():
        if wanted[name] > len(pool):
            raise DataError(f"treatment.unprivileged_share {share} with data.n_train {n} needs {wanted[name]} {name} "
                            f"training rows but the data has {len(pool)}; lower data.n_train or the share")
    picks = [pool[stratified_indices(y[pool], wanted[name], seed=seed + i)] if wanted[name] else pool[:0]
             for i, (name, pool) in enumerate(pools.items())]
    return np.sort(np.concatenate(picks))


def natural_indices(y: np.ndarray, unprivileged: np.ndarray, *, n: int | None, seed: int) -> np.ndarray:
    """All rows, or ``n`` of them stratified by label × group (the data's own composition)."""
    if n is None:
        return np.arange(len(y))
    if not 1 <= n <= len(y):
        raise DataError(f"data.n_train {n}: the train split has {len(y)} rows; choose 1..{len(y)}")
    return stratified_indices(y * 2 + unprivileged.astype(np.int64), n, seed=seed)


def holdout(y: np.ndarray, unprivileged: np.ndarray, *, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) positions, validation a ``fraction`` stratified by label × group."""
    n_val = round(fraction * len(y))
    if not 1 <= n_val < len(y):
        raise DataError(f"treatment.val_fraction {fraction} of {len(y)} training rows leaves an empty split")
    val = stratified_indices(y * 2 + unprivileged.astype(np.int64), n_val, seed=seed)
    return np.setdiff1d(np.arange(len(y)), val), val
