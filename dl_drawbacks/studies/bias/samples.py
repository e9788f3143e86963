"""Per-sample test outcomes of one trial, packed into a few rows, so the analysis can resample the test set.

The nested interval (``statistics.nested_interval``) needs each seed's test samples. A trial records,
per test sample, its group cell (each protected attribute 0, 1 or 2 = neither), the label, the hard
prediction and the score quantised to 1/255 (``SCORE_LEVELS``); ``pack`` stores as many samples as fit
in the 52 exact integer bits of one float64 row value (metric ``test_samples``, group ``chunk:<k>``),
and ``unpack`` gives back the 1-D array the statistics read, one float per sample:
``code * 256 + round(score * 255)`` with ``code = (cell * 2 + y) * 2 + yhat`` (1-D keeps each bootstrap
gather cheap). Every seed of a setting scores the same test set in the same order,
so the arrays of different seeds line up sample by sample (the paired resampling of nested_interval).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

SCORE_LEVELS = 255
VALUE_BITS = 52
METRIC = "test_samples"
REFERENCE = "reference_samples"  # the same test samples decided by someone else (COMPAS's deciles: compas_reference)


def cell_codes(groups: Mapping[str, np.ndarray], attrs: Sequence[str]) -> np.ndarray:
    """Cell index ``sum(v_i * 3**i)`` with v_i = 0, 1, or 2 for any other value of attribute i."""
    code = np.zeros(len(next(iter(groups.values()))), np.int64)
    for i, a in enumerate(attrs):
        v = np.asarray(groups[a])
        code += np.where((v == 0) | (v == 1), v, 2).astype(np.int64) * 3**i
    return code


def bits_per_sample(n_attrs: int) -> int:
    return 2 * n_attrs + 2 + 8  # two bits per attribute cell value, label, prediction, score


def pack(cells: np.ndarray, y: np.ndarray, yhat: np.ndarray, score: np.ndarray, n_attrs: int) -> list[float]:
    """Row values holding every sample (as integers below 2**52, exact in float64)."""
    bits = bits_per_sample(n_attrs)
    per_value = VALUE_BITS // bits
    q = np.clip(np.rint(np.asarray(score, float) * SCORE_LEVELS), 0, SCORE_LEVELS).astype(np.int64)
    word = (((cells.astype(np.int64) << 1 | np.asarray(y, np.int64)) << 1 | np.asarray(yhat, np.int64)) << 8) | q
    pad = (-len(word)) % per_value
    word = np.concatenate([word, np.zeros(pad, np.int64)]).reshape(-1, per_value)
    shifts = np.arange(per_value, dtype=np.int64) * bits
    return [float(v) for v in (word << shifts).sum(axis=1)]


def unpack(values: Sequence[float], n: int, n_attrs: int) -> np.ndarray:
    """``pack``'s samples in their original order, each ``code * 256 + quantised score`` (float64)."""
    bits = bits_per_sample(n_attrs)
    per_value = VALUE_BITS // bits
    packed = np.asarray(values, dtype=np.float64).astype(np.int64).reshape(-1, 1)
    shifts = np.arange(per_value, dtype=np.int64) * bits
    return ((packed >> shifts) & ((1 << bits) - 1)).reshape(-1)[:n].astype(np.float64)


def add_sample_rows(
    rows, cells: np.ndarray, y: np.ndarray, yhat: np.ndarray, score: np.ndarray, n_attrs: int, *, metric: str = METRIC
) -> None:
    """Record a trial's packed test samples (``metric``) and their count on ``rows`` (a RowBuffer)."""
    rows.add(f"{metric}_n", len(y), "count", split="test", provenance="counted")
    how = f"packed:{bits_per_sample(n_attrs)} bits per sample (cell, label, prediction, score/{SCORE_LEVELS})"
    for k, value in enumerate(pack(cells, y, yhat, score, n_attrs)):
        rows.add(metric, value, "packed", split="test", group=f"chunk:{k}", provenance=how)
