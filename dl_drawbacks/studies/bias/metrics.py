"""Group rates and group-fairness metrics from confusion counts, with explicit `undefined` outcomes.

Everything is computed from per-group counts, so the same code gives the point estimate of a trial
and each test-set resample of the nested interval (``sample_stats``). Definitions follow aif360's
ClassificationMetric (Bellamy et al. 2018, arXiv:1810.01943): DI = P(ŷ=1|unpriv)/P(ŷ=1|priv), SPD the
difference of those rates, EOD = TPR_u − TPR_p, AOD = ½[(FPR_u − FPR_p) + (TPR_u − TPR_p)], Theil the
generalized entropy (α = 1) of b = ŷ − y + 1; Fairlearn's demographic_parity_ratio/difference are the same
rates but take min/max over groups (symmetric), so its ratio is min(DI, 1/DI). Tests check them against aif360.
Groups: ``privileged`` = every listed attribute privileged (1), ``unprivileged`` = every listed
attribute unprivileged (0); for one attribute that is the usual split, for several (sex × race)
it compares the two extreme intersections, and every cell is reported on its own.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

FAIRNESS_METRICS = (
    "disparate_impact",
    "statistical_parity_difference",
    "equal_opportunity_difference",
    "average_odds_difference",
    "theil_index",
)
COUNTS = ("n", "pos", "neg", "sel", "tp", "fp", "correct")


@dataclass(frozen=True)
class Outcome:
    """A metric value, or NaN with the reason it is undefined (an empty group, no positives...)."""

    value: float
    reason: str | None = None

    @property
    def provenance(self) -> str:
        return f"undefined:{self.reason}" if self.reason else "measured"


def privileged_masks(groups: Mapping[str, np.ndarray], attrs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(privileged, unprivileged) boolean masks: all ``attrs`` == 1, and all ``attrs`` == 0."""
    priv = np.logical_and.reduce([groups[a] == 1 for a in attrs])
    unpriv = np.logical_and.reduce([groups[a] == 0 for a in attrs])
    return priv, unpriv


def group_masks(groups: Mapping[str, np.ndarray], attrs: Sequence[str]) -> dict[str, np.ndarray]:
    """Named masks: 'all', each attribute's two values ('sex=0'), and every intersection cell."""
    n = len(next(iter(groups.values())))
    out = {"all": np.ones(n, bool)}
    for a in attrs:
        for v in (0, 1):
            out[f"{a}={v}"] = groups[a] == v
    if len(attrs) > 1:
        for values in itertools.product((0, 1), repeat=len(attrs)):
            out[",".join(f"{a}={v}" for a, v in zip(attrs, values))] = np.logical_and.reduce(
                [groups[a] == v for a, v in zip(attrs, values)]
            )
    return out


def indicator_matrix(y: np.ndarray, yhat: np.ndarray, masks: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """(n, K) 0/1 matrix whose weighted column sums are the counts; K names 'group|count'."""
    y, yhat = y.astype(bool), yhat.astype(bool)
    per = {
        "n": np.ones_like(y),
        "pos": y,
        "neg": ~y,
        "sel": yhat,
        "tp": y & yhat,
        "fp": ~y & yhat,
        "correct": y == yhat,
    }
    cols, names = [], []
    for g, m in masks.items():
        for c in COUNTS:
            cols.append(m & per[c])
            names.append(f"{g}|{c}")
    cols += [y & ~yhat, ~y & yhat]  # Theil benefit b = yhat - y + 1 is 0 for false negatives, 2 for false positives
    names += ["theil|b0", "theil|b2"]
    return np.column_stack(cols).astype(np.float64), names


def _div(a, b):
    if isinstance(b, (float, np.floating)) and isinstance(
        a, (float, np.floating)
    ):  # scalar counts (one resample): plain floats are ~20x faster
        return np.float64(float(a) / float(b)) if b > 0 else np.float64("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def rates(counts: Mapping[str, np.ndarray], group: str) -> dict[str, np.ndarray]:
    c = {k: counts[f"{group}|{k}"] for k in COUNTS}
    return {
        "accuracy": _div(c["correct"], c["n"]),
        "tpr": _div(c["tp"], c["pos"]),
        "fpr": _div(c["fp"], c["neg"]),
        "selection_rate": _div(c["sel"], c["n"]),
    }


def theil_index(counts: Mapping[str, np.ndarray]) -> np.ndarray:
    """Generalized entropy index, alpha = 1, of benefits b_i = yhat_i - y_i + 1 (Speicher et al. 2018, eq. 3)."""
    n, b0, b2 = counts["all|n"], counts["theil|b0"], counts["theil|b2"]
    b1 = n - b0 - b2
    mu = _div(b1 + 2 * b2, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(b1 > 0, b1 * (1 / mu) * np.log(1 / mu), 0.0)
        t2 = np.where(b2 > 0, b2 * (2 / mu) * np.log(2 / mu), 0.0)
    return np.where((n > 0) & (mu > 0), _div(t1 + t2, n), np.nan)


def fairness_values(counts: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The five aif360 metrics (unprivileged minus/over privileged) from 'privileged'/'unprivileged' counts."""
    u, p = rates(counts, "unprivileged"), rates(counts, "privileged")
    return {
        "disparate_impact": _div(u["selection_rate"], p["selection_rate"]),
        "statistical_parity_difference": u["selection_rate"] - p["selection_rate"],
        "equal_opportunity_difference": u["tpr"] - p["tpr"],
        "average_odds_difference": 0.5 * ((u["fpr"] - p["fpr"]) + (u["tpr"] - p["tpr"])),
        "theil_index": theil_index(counts),
    }


def undefined_reasons(counts: Mapping[str, float]) -> dict[str, str | None]:
    """Why each fairness metric is undefined on these (point) counts, or None where it is defined."""

    def first(*checks: tuple[bool, str]) -> str | None:
        return next((why for bad, why in checks if bad), None)

    empty = [(counts[f"{g}|n"] == 0, f"{g} group empty") for g in ("unprivileged", "privileged")]
    pos = [(counts[f"{g}|pos"] == 0, f"no positives in {g} group") for g in ("unprivileged", "privileged")]
    neg = [(counts[f"{g}|neg"] == 0, f"no negatives in {g} group") for g in ("unprivileged", "privileged")]
    n, b0, b2 = counts["all|n"], counts["theil|b0"], counts["theil|b2"]
    return {
        "disparate_impact": first(*empty, (counts["privileged|sel"] == 0, "privileged selection rate is 0")),
        "statistical_parity_difference": first(*empty),
        "equal_opportunity_difference": first(*empty, *pos),
        "average_odds_difference": first(*empty, *pos, *neg),
        "theil_index": first((n == 0, "no samples"), (n - b0 - b2 + 2 * b2 == 0, "mean benefit is 0")),
    }


def count_dict(matrix: np.ndarray, names: list[str], weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    counts = matrix.sum(axis=0) if weights is None else weights @ matrix
    return {name: counts[..., i] for i, name in enumerate(names)}


def evaluate_groups(y: np.ndarray, yhat: np.ndarray, groups: Mapping[str, np.ndarray], attrs: Sequence[str]):
    """(count names, indicator matrix, point counts) for the privileged/unprivileged pair and every named group."""
    priv, unpriv = privileged_masks(groups, attrs)
    masks = {"privileged": priv, "unprivileged": unpriv, **group_masks(groups, attrs)}
    matrix, names = indicator_matrix(y, yhat, masks)
    return names, matrix, count_dict(matrix, names), [g for g in masks if g not in ("privileged", "unprivileged")]


def group_outcomes(counts: Mapping[str, float], group: str) -> dict[str, Outcome]:
    """Accuracy, TPR, FPR and selection rate of one group, each undefined where its denominator is 0."""
    r = rates(counts, group)
    denominators = {
        "accuracy": ("n", "group empty"),
        "tpr": ("pos", "no positives"),
        "fpr": ("neg", "no negatives"),
        "selection_rate": ("n", "group empty"),
    }
    return {
        m: Outcome(float(r[m]), None) if counts[f"{group}|{d}"] > 0 else Outcome(float("nan"), f"{why} in {group}")
        for m, (d, why) in denominators.items()
    }
