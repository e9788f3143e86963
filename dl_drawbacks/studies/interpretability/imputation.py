"""How ROAR fills the features it removes (``treatment.roar_imputation``).

- ``mean``: the per-feature training mean (Hooker et al. 2019 use the per-channel mean). Every removed pixel
  takes one fixed value, so the removal mask is written into the image, and the mask alone carries the ranking.
- ``linear``: ROAD's noisy linear imputation (Rong et al. 2022, ICML, "A Consistent and Efficient Evaluation
  Strategy for Attribution Methods", sec. 4.2 and their reference code ``NoisyLinearImputer``): each removed
  pixel equals the weighted mean of its 8 neighbours (1/6 for the 4 direct ones, 1/12 for the diagonals; pixels
  outside the image drop out), solved jointly for all removed pixels of an image as one sparse linear system,
  plus Gaussian noise of a fixed absolute scale. A 1-D signal uses its 2 neighbours at 1/2 each. Channels are
  imputed apart. Here the systems of all images are solved as one block-diagonal system.
"""

from __future__ import annotations

import itertools

import numpy as np

RANDOM = "random"  # the reference ranking of treatment.roar_method, filled like every other ranking


def neighbour_weights(ndim: int) -> list[tuple[tuple[int, ...], float]]:
    """(offset, weight) of Rong et al.'s neighbourhood: 8 neighbours in 2-D, 2 in 1-D."""
    if ndim == 1:
        return [((-1,), 0.5), ((1,), 0.5)]
    assert ndim == 2, ndim
    return [
        (off, 1 / 6 if 0 in off else 1 / 12)
        for off in itertools.product((-1, 0, 1), repeat=2)
        if off != (0, 0)
    ]


def fill_mean(x: np.ndarray, removed: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """A copy of ``x`` with the ``removed`` features set to ``fill`` (per feature)."""
    return np.where(removed, np.broadcast_to(np.asarray(fill, np.float32), x.shape), x).astype(np.float32)


def noisy_linear_impute(
    x: np.ndarray, removed: np.ndarray, image_shape: tuple[int, ...], *, noise: float, seed: int
) -> np.ndarray:
    """A copy of ``x`` (n, d) whose ``removed`` features are their neighbours' weighted mean plus N(0, noise²)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    n, d = x.shape
    spatial = tuple(image_shape[1:])
    assert int(np.prod(image_shape)) == d, (image_shape, d)
    out = np.array(x, dtype=np.float32, copy=True)
    flat_removed = np.asarray(removed, bool).reshape(-1)
    unknown = np.flatnonzero(flat_removed)
    if unknown.size == 0:
        return out
    variable = np.full(n * d, -1)
    variable[unknown] = np.arange(unknown.size)
    sample, rest = np.divmod(unknown, d)
    channel, position = np.divmod(rest, int(np.prod(spatial)))
    coords = np.stack(np.unravel_index(position, spatial), axis=1)
    rows, cols, vals = [], [], []
    rhs = np.zeros(unknown.size)
    diagonal = np.zeros(unknown.size)
    values = out.reshape(-1).astype(float)
    for offset, weight in neighbour_weights(len(spatial)):
        moved = coords + np.asarray(offset)
        inside = np.all((moved >= 0) & (moved < np.asarray(spatial)), axis=1)
        i = np.flatnonzero(inside)
        neighbour = sample[i] * d + channel[i] * int(np.prod(spatial)) + np.ravel_multi_index(moved[i].T, spatial)
        diagonal[i] += weight
        missing = flat_removed[neighbour]
        rows.append(i[missing])
        cols.append(variable[neighbour[missing]])
        vals.append(np.full(int(missing.sum()), weight))
        np.subtract.at(rhs, i[~missing], weight * values[neighbour[~missing]])
    rows.append(np.arange(unknown.size))
    cols.append(np.arange(unknown.size))
    vals.append(-diagonal)
    system = coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(unknown.size,) * 2
    ).tocsc()
    solved = np.atleast_1d(spsolve(system, rhs))
    solved += noise * np.random.default_rng(seed).standard_normal(unknown.size)
    flat = out.reshape(-1)
    flat[unknown] = solved.astype(np.float32)
    return out
