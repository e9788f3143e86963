"""Statistics of one seed's test samples (the unpacked ``code * 256 + score`` arrays of ``samples``), for
``statistics.nested_interval``: every group metric of ``metrics`` from confusion counts, and the
threshold-free ones from scores.

- Group cells: ``privileged`` = every attribute 1, ``unprivileged`` = every attribute 0 (aif360's
  dicts); ``a=v`` one attribute's value; ``a=v,b=w`` intersections.
- ROC AUC per group: Mann-Whitney U / (n_pos · n_neg) with mid-ranks for ties (sklearn's roc_auc_score).
- ECE per group: 10 equal-width bins of P(y=1), Σ_b |B|/n · |mean y − mean p| (Guo et al. 2017).
- Generalized FPR / FNR (Pleiss et al. 2017, §3): E[score | y = 0] and E[1 − score | y = 1], the costs
  calibrated equalized odds equalizes between the two groups.
- Amplification (Wang & Russakovsky 2021, directional), on two scales of the same samples: difference,
  |SPD of the predictions| − |SPD of the labels| (> 0: the model widens the data's base-rate gap); ratio,
  exp(|ln DI of the predictions| − |ln DI of the labels|) (> 1: the predictions' selection-rate ratio lies that
  many times further from parity than the labels'). They can disagree: a model that selects fewer people
  overall shrinks differences of rates while it can widen their ratio.
Paired statistics of two settings read a 2-column array [setting a | setting b] of the same test samples.
"""

from __future__ import annotations

import itertools
from typing import Callable, Sequence

import numpy as np

from .metrics import fairness_values, rates
from .samples import SCORE_LEVELS

Statistic = Callable[[np.ndarray], float]
N_BINS = 10


def cell_groups(attrs: Sequence[str]) -> dict[str, np.ndarray]:
    """Group name -> boolean over the 3**L cells (value 2 of an attribute: in neither compared group)."""
    cells = np.array(list(itertools.product((0, 1, 2), repeat=len(attrs))))[:, ::-1]  # cell = Σ v_i 3**i
    out = {"all": np.ones(len(cells), bool), "privileged": (cells == 1).all(axis=1),
           "unprivileged": (cells == 0).all(axis=1)}
    for i, a in enumerate(attrs):
        for v in (0, 1):
            out[f"{a}={v}"] = cells[:, i] == v
    if len(attrs) > 1:
        for values in itertools.product((0, 1), repeat=len(attrs)):
            out[",".join(f"{a}={v}" for a, v in zip(attrs, values))] = (cells == values).all(axis=1)
    return out


def membership(groups: dict[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """(group names, groups × cells 0/1 matrix), built once per statistic."""
    names = list(groups)
    return names, np.array([groups[g] for g in names], np.float64)


def counts(codes: np.ndarray, groups: dict[str, np.ndarray] | tuple[list[str], np.ndarray]) -> dict[str, float]:
    """The 'group|count' dict of ``metrics`` (n, pos, neg, sel, tp, fp, correct, Theil's b0/b2) from the
    codes (cell·2 + y)·2 + ŷ: one bincount, then a (groups × cells) product."""
    names, matrix = membership(groups) if isinstance(groups, dict) else groups
    t = np.bincount(codes, minlength=4 * matrix.shape[1]).reshape(-1, 4)
    out = {}
    for g, (tn, fp, fn, tp) in zip(names, (matrix @ t).tolist()):  # per group: [y0ŷ0, y0ŷ1, y1ŷ0, y1ŷ1]
        out.update({f"{g}|n": tn + fp + fn + tp, f"{g}|pos": fn + tp, f"{g}|neg": tn + fp, f"{g}|sel": fp + tp,
                    f"{g}|tp": tp, f"{g}|fp": fp, f"{g}|correct": tn + tp})
    every = t.sum(axis=0)
    out["theil|b0"], out["theil|b2"] = float(every[2]), float(every[1])
    return out


def codes_of(sample: np.ndarray) -> np.ndarray:
    return sample.astype(np.int64) >> 8


def split_sample(sample: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(cell, y, ŷ, score) of every sample."""
    v = sample.astype(np.int64)
    codes = v >> 8
    return codes >> 2, (codes >> 1) & 1, codes & 1, (v & 0xFF) / SCORE_LEVELS


def fairness(metric: str, groups: dict[str, np.ndarray]) -> Statistic:
    members = membership(groups)
    return lambda s: float(fairness_values(counts(codes_of(s), members))[metric])


def group_rate(metric: str, group: str, groups: dict[str, np.ndarray]) -> Statistic:
    """accuracy, tpr, fpr, selection_rate, or fnr (= 1 − tpr) of one group."""
    base = "tpr" if metric == "fnr" else metric
    sign, shift = (-1.0, 1.0) if metric == "fnr" else (1.0, 0.0)
    members = membership(groups)
    return lambda s: float(shift + sign * rates(counts(codes_of(s), members), group)[base])


def label_rate(metric: str, group: str, groups: dict[str, np.ndarray]) -> Statistic:
    """``group_rate`` of the labels themselves (ŷ := y): 'selection_rate' is the group's base rate."""
    rate = group_rate(metric, group, groups)

    def stat(s: np.ndarray) -> float:
        v = s.astype(np.int64)
        y = (v >> 9) & 1
        return rate(((v >> 9 << 9) | (y << 8) | (v & 0xFF)).astype(np.float64))
    return stat


def _in_group(cell: np.ndarray, group: str, groups: dict[str, np.ndarray]) -> np.ndarray:
    return groups[group][cell]


def roc_auc(group: str, groups: dict[str, np.ndarray]) -> Statistic:
    def stat(s: np.ndarray) -> float:
        cell, y, _, score = split_sample(s)
        m = _in_group(cell, group, groups)
        y, score = y[m], score[m]
        n_pos, n_neg = int(y.sum()), int((1 - y).sum())
        if n_pos == 0 or n_neg == 0:
            return float("nan")
        order = np.argsort(score, kind="mergesort")
        ranks = np.empty(len(score))
        sorted_scores = score[order]
        _, first, counts_ = np.unique(sorted_scores, return_index=True, return_counts=True)
        ranks[order] = np.repeat(first + (counts_ + 1) / 2.0, counts_)  # mid-ranks, 1-based
        return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    return stat


def ece(group: str, groups: dict[str, np.ndarray]) -> Statistic:
    def stat(s: np.ndarray) -> float:
        cell, y, _, score = split_sample(s)
        m = _in_group(cell, group, groups)
        if not m.any():
            return float("nan")
        b = np.minimum((score[m] * N_BINS).astype(np.int64), N_BINS - 1)
        n = np.bincount(b, minlength=N_BINS)
        gap = np.abs(np.bincount(b, y[m], N_BINS) - np.bincount(b, score[m], N_BINS))
        return float(gap.sum() / n.sum())
    return stat


def generalized_rate(which: str, group: str, groups: dict[str, np.ndarray]) -> Statistic:
    """'fpr': E[score | y=0]; 'fnr': E[1 − score | y=1] within ``group`` (Pleiss et al. 2017)."""
    want = 0 if which == "fpr" else 1

    def stat(s: np.ndarray) -> float:
        cell, y, _, score = split_sample(s)
        m = _in_group(cell, group, groups) & (y == want)
        if not m.any():
            return float("nan")
        return float(score[m].mean() if which == "fpr" else (1 - score[m]).mean())
    return stat


def generalized_gap(which: str, groups: dict[str, np.ndarray]) -> Statistic:
    """Unprivileged minus privileged generalized FPR/FNR: the target of calibrated equalized odds."""
    u, p = generalized_rate(which, "unprivileged", groups), generalized_rate(which, "privileged", groups)
    return lambda s: u(s) - p(s)


def rate_gap(metric: str, groups: dict[str, np.ndarray]) -> Statistic:
    """Unprivileged minus privileged ``metric`` (tpr, fpr, fnr, accuracy, selection_rate)."""
    u, p = group_rate(metric, "unprivileged", groups), group_rate(metric, "privileged", groups)
    return lambda s: u(s) - p(s)


def auc_gap(groups: dict[str, np.ndarray]) -> Statistic:
    """Unprivileged minus privileged ROC AUC: how much worse the scores rank within the unprivileged group."""
    u, p = roc_auc("unprivileged", groups), roc_auc("privileged", groups)
    return lambda s: u(s) - p(s)


def amplification_ratio(groups: dict[str, np.ndarray]) -> Statistic:
    """exp(|ln DI(ŷ)| − |ln DI(y)|): > 1 when the predictions' DI is further from parity than the labels'."""
    def stat(s: np.ndarray) -> float:
        cell, y, yhat, _ = split_sample(s)
        u, p = groups["unprivileged"][cell], groups["privileged"][cell]
        if not (u.any() and p.any()):
            return float("nan")
        with np.errstate(divide="ignore", invalid="ignore"):
            log_di = [abs(np.log(v[u].mean() / v[p].mean())) for v in (yhat, y)]
        return float(np.exp(log_di[0] - log_di[1])) if np.isfinite(log_di).all() else float("nan")
    return stat


def amplification(groups: dict[str, np.ndarray]) -> Statistic:
    """|SPD(ŷ)| − |SPD(y)|: > 0 when the predictions' selection-rate difference is wider than the labels'."""
    def stat(s: np.ndarray) -> float:
        cell, y, yhat, _ = split_sample(s)
        u, p = groups["unprivileged"][cell], groups["privileged"][cell]
        if not (u.any() and p.any()):
            return float("nan")
        pred_gap = yhat[u].mean() - yhat[p].mean()
        label_gap = y[u].mean() - y[p].mean()
        return float(abs(pred_gap) - abs(label_gap))
    return stat


def label_statistic(metric: str, groups: dict[str, np.ndarray]) -> Statistic:
    """A fairness metric of the labels themselves (ŷ := y): DI/SPD of the data's base rates."""
    members = membership(groups)

    def stat(s: np.ndarray) -> float:
        codes = codes_of(s)
        as_labels = (codes >> 1 << 1) | ((codes >> 1) & 1)
        return float(fairness_values(counts(as_labels, members))[metric])
    return stat


def paired_difference(stat: Statistic) -> Statistic:
    """stat(setting a) − stat(setting b) on a 2-column [a | b] array of the same test samples."""
    return lambda s: stat(s[:, 0]) - stat(s[:, 1])


def paired_ratio(stat: Statistic) -> Statistic:
    """stat(setting b) / stat(setting a) on a 2-column [a | b] array of the same test samples."""
    def ratio(s: np.ndarray) -> float:
        a = stat(s[:, 0])
        return stat(s[:, 1]) / a if a > 0 else float("nan")
    return ratio
