"""One model's explanation audit: attributions per method, their cost, faithfulness, sanity,
agreement, localisation on a planted patch, and a few attribution maps — written as metric rows.

``add(metric, value, unit, *, split, group, step, epoch, provenance)`` is ``RowBuffer.add``.
Curve points and maps use the ``step`` column as their index (curve point k of ``curve_steps``;
map feature index) and ``epoch`` as the sample index of a map; ``split`` is always "test_explain".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from torch import nn

from .attributions import Explainer, predict, timed_attribute
from .faithfulness import Curves, faithfulness, random_faithfulness
from .planted import localisation, stamp
from .sanity import agreement, cascading_randomisation

SPLIT = "test_explain"


@dataclass(frozen=True)
class AuditSettings:
    methods: tuple[str, ...]
    curve_steps: int = 16
    sanity: bool = True
    n_maps: int = 3
    seed: int = 0


def _curve_rows(add: Callable, curves: Curves, group: str) -> None:
    add("deletion_auc", float(curves.deletion_auc.mean()), "probability", split=SPLIT, group=group)
    add("insertion_auc", float(curves.insertion_auc.mean()), "probability", split=SPLIT, group=group)
    for k, (d, i) in enumerate(zip(curves.deletion, curves.insertion)):
        add("deletion_curve", float(d), "probability", split=SPLIT, group=group, step=k)
        add("insertion_curve", float(i), "probability", split=SPLIT, group=group, step=k)


def _map_rows(add: Callable, maps: np.ndarray, group: str) -> None:
    for sample, row in enumerate(maps):
        for feature, value in enumerate(row):
            add("attribution_map", float(value), "attribution", split=SPLIT, group=group, step=feature, epoch=sample)


def audit_model(model: nn.Module, x: np.ndarray, add: Callable, explainer: Explainer, settings: AuditSettings, *,
                background: np.ndarray | None = None, patch: tuple[np.ndarray, np.ndarray, int] | None = None) -> None:
    """Explain ``model`` on ``x`` (towards its predicted classes) and add the audit's rows.

    ``patch`` = (flat indices, true labels of x, classes): also explain x with the label patch stamped
    and record the share of attribution mass on it.
    """
    proba = lambda a: predict(model, a)  # noqa: E731
    target = proba(x).argmax(1)
    add("explained_samples", len(x), "count", split=SPLIT)
    _map_rows(add, x[: settings.n_maps], "input")
    _curve_rows(add, random_faithfulness(proba, x, target, seed=settings.seed, steps=settings.curve_steps), "random")
    found: dict[str, np.ndarray] = {}
    for method in settings.methods:
        bg = background if method == "gradient_shap" else None
        timed = timed_attribute(explainer, model, x, target, method, background=bg, seed=settings.seed)
        found[method] = timed.values
        add("explain_seconds_per_sample", timed.seconds_per_sample, "s", split=SPLIT, group=method)
        add("explain_peak_memory_increase", timed.peak_memory_increase, "bytes", split=SPLIT, group=method,
            provenance=timed.memory_provenance)
        _curve_rows(add, faithfulness(proba, x, target, timed.values, steps=settings.curve_steps), method)
        _map_rows(add, timed.values[: settings.n_maps], method)
        if settings.sanity:
            fn = explainer.attribute_fn(method, background=bg, seed=settings.seed)
            for r in cascading_randomisation(model, fn, x, target, original=timed.values, seed=settings.seed):
                add("sanity_spearman", r["spearman"], "rho", split=SPLIT, group=method, step=r["depth"])
                add("sanity_ssim", r["ssim"], "ssim", split=SPLIT, group=method, step=r["depth"])
        if patch is not None:
            idx, labels, n_classes = patch
            xp = stamp(x, labels, idx, n_classes)
            loc = localisation(explainer.attribute(model, xp, proba(xp).argmax(1), method, background=bg, seed=settings.seed), idx)
            add("localisation_share", loc["share"], "fraction", split=SPLIT, group=method)
            add("localisation_lift", loc["lift"], "ratio", split=SPLIT, group=method)
    if patch is not None:
        add("patch_area_share", len(patch[0]) / x.shape[1], "fraction", split=SPLIT)
    for (a, b), rho in agreement(found).items():
        add("agreement_spearman", float(np.nanmean(rho)), "rho", split=SPLIT, group=f"{a}|{b}")
