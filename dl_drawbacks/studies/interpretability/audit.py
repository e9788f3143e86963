"""One model's explanation audit, written as metric rows (``add`` is ``RowBuffer.add``; split "test_explain").

- ``audit_clean`` (a model trained on the real data): per method its cost, deletion/insertion under every
  baseline (and a random order under the same baseline), captum infidelity and max-sensitivity, the
  cascading randomisation test, the similarity to an independently trained twin and to a twin trained
  on permuted labels, agreement between methods, and a few maps.
- ``probe_patch`` (the planted model and its negative control alike): the explained images with the patch
  stamped, per-sample localisation scores and whether the prediction flips when the patch is removed.

Row indices: curve point k of ``curve_steps`` and cascade depth in ``step``; sample index in ``epoch``
(per-sample rows keep the nested intervals over seeds × explained samples possible); map feature in ``step``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from torch import nn

from .attributions import Explainer, predict, timed_attribute
from .faithfulness import Curves, baseline_inputs, faithfulness, random_faithfulness
from .planted import patch_scores, stamp
from .robustness import PERTURBATIONS, infidelity_per_sample, sensitivity_per_sample
from .sanity import INPUT_REFERENCE, agreement, cascading_randomisation, spearman_abs

SPLIT = "test_explain"
RANDOM_MAP = "random"  # the infidelity reference: a map of noise


@dataclass(frozen=True)
class AuditSettings:
    methods: tuple[str, ...]
    baselines: tuple[str, ...] = ("zero", "blur", "train_sample")
    curve_steps: int = 16
    sanity: bool = True
    n_maps: int = 3
    n_robustness: int = 16
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


def _per_sample(add: Callable, metric: str, values: np.ndarray, unit: str, group: str) -> None:
    for sample, value in enumerate(values):
        add(metric, float(value), unit, split=SPLIT, group=group, epoch=sample)


def _faithfulness_rows(
    add, proba, x, target, maps: dict[str, np.ndarray], baselines: dict[str, np.ndarray], settings: AuditSettings
) -> None:
    for name, base in baselines.items():
        _curve_rows(
            add,
            random_faithfulness(proba, x, target, seed=settings.seed, baseline=base, steps=settings.curve_steps),
            f"random@{name}",
        )
        for method, values in maps.items():
            _curve_rows(
                add,
                faithfulness(proba, x, target, values, baseline=base, steps=settings.curve_steps),
                f"{method}@{name}",
            )


def _sanity_rows(
    add, model, x, target, method, original, explainer, bg, twins: dict[str, nn.Module], seed: int
) -> None:
    fn = explainer.attribute_fn(method, background=bg, seed=seed)
    cascade = cascading_randomisation(model, fn, x, target, original=original, seed=seed)
    for r in cascade:
        add("sanity_spearman", r["spearman"], "rho", split=SPLIT, group=method, step=r["depth"])
        add("sanity_ssim", r["ssim"], "ssim", split=SPLIT, group=method, step=r["depth"])
    _per_sample(add, "sanity_similarity", cascade[-1]["per_sample"], "rho", f"{method}@randomised")
    for name, twin in twins.items():  # independent (the reference), label_random (data randomisation)
        _per_sample(add, "sanity_similarity", spearman_abs(original, fn(twin, x, target)), "rho", f"{method}@{name}")


def _random_infidelity_rows(add: Callable, model: nn.Module, x: np.ndarray, target: np.ndarray, seed: int) -> None:
    """captum infidelity of a seeded N(0, 1) map: the score of an attribution that knows nothing (its reference)."""
    values = np.random.default_rng(seed).standard_normal(x.shape)
    for kind in PERTURBATIONS:
        score = infidelity_per_sample(model, x, target, values, perturbation=kind, seed=seed)
        add(f"infidelity_{kind}", float(np.mean(score)), "squared logit", split=SPLIT, group=RANDOM_MAP,
            provenance="captum")


def _input_reference_rows(add: Callable, x: np.ndarray, comparisons: tuple[str, ...]) -> None:
    """The sanity tests' input-only reference: the map |x| ignores the weights, so every model's map equals the
    trained model's (Adebayo et al. 2018, sec. 3: an edge detector passes no randomisation test)."""
    for comparison in comparisons:
        _per_sample(add, "sanity_similarity", spearman_abs(x, x), "rho", f"{INPUT_REFERENCE}@{comparison}")


def audit_clean(
    model: nn.Module,
    x: np.ndarray,
    add: Callable,
    explainer: Explainer,
    settings: AuditSettings,
    *,
    background: np.ndarray,
    train_x: np.ndarray,
    twins: dict[str, nn.Module],
) -> None:
    """Explain ``model`` on ``x`` towards its predicted classes and add the audit's rows."""
    proba = lambda a: predict(model, a)  # noqa: E731
    target = proba(x).argmax(1)
    add("explained_samples", len(x), "count", split=SPLIT)
    _map_rows(add, x[: settings.n_maps], "input")
    maps: dict[str, np.ndarray] = {}
    robust = slice(0, settings.n_robustness)
    for method in settings.methods:
        bg = background if method == "gradient_shap" else None
        timed = timed_attribute(explainer, model, x, target, method, background=bg, seed=settings.seed)
        maps[method] = timed.values
        add("explain_seconds_per_sample", timed.seconds_per_sample, "s", split=SPLIT, group=method)
        add(
            "explain_peak_memory_increase",
            timed.peak_memory_increase,
            "bytes",
            split=SPLIT,
            group=method,
            provenance=timed.memory_provenance,
        )
        _map_rows(add, timed.values[: settings.n_maps], method)
        for kind in PERTURBATIONS:
            score = infidelity_per_sample(
                model, x[robust], target[robust], timed.values[robust], perturbation=kind, seed=settings.seed
            )
            add(
                f"infidelity_{kind}",
                float(np.mean(score)),
                "squared logit",
                split=SPLIT,
                group=method,
                provenance="captum",
            )
        add(
            "sensitivity_max",
            float(
                np.mean(
                    sensitivity_per_sample(
                        explainer, model, x[robust], target[robust], method, background=bg, seed=settings.seed
                    )
                )
            ),
            "relative norm",
            split=SPLIT,
            group=method,
            provenance="captum",
        )
        if settings.sanity:
            _sanity_rows(add, model, x, target, method, timed.values, explainer, bg, twins, settings.seed)
    _random_infidelity_rows(add, model, x[robust], target[robust], settings.seed)
    if settings.sanity:
        _input_reference_rows(add, x, ("randomised", *twins))
    baselines = {
        b: baseline_inputs(x, b, image_shape=explainer.image_shape, train_x=train_x, seed=settings.seed)
        for b in settings.baselines
    }
    _faithfulness_rows(add, proba, x, target, maps, baselines, settings)
    for (a, b), rho in agreement(maps).items():
        add("agreement_spearman", float(np.nanmean(rho)), "rho", split=SPLIT, group=f"{a}|{b}")


def probe_patch(
    model: nn.Module,
    x: np.ndarray,
    labels: np.ndarray,
    add: Callable,
    explainer: Explainer,
    settings: AuditSettings,
    *,
    indices: np.ndarray,
    n_classes: int,
    background: np.ndarray,
) -> None:
    """Localisation of the stamped true-label patch per method and sample, and per-sample flips on its removal."""
    xp = stamp(x, labels, indices, n_classes)
    proba_patched = predict(model, xp)
    target = proba_patched.argmax(1)
    _per_sample(add, "patch_flip", (target != predict(model, x).argmax(1)).astype(float), "bool", "patch")
    add("patch_area_share", len(indices) / x.shape[1], "fraction", split=SPLIT)
    mask = np.zeros((1, x.shape[1]))
    mask[0, indices] = 1.0
    _map_rows(add, mask, "patch_mask")
    _map_rows(add, xp[: settings.n_maps], "patched:input")
    for method in settings.methods:
        bg = background if method == "gradient_shap" else None
        values = explainer.attribute(model, xp, target, method, background=bg, seed=settings.seed)
        scores = patch_scores(values, indices)
        _per_sample(add, "localisation_auc", scores["auc"], "probability", method)
        _per_sample(add, "localisation_share", scores["share"], "fraction", method)
        _map_rows(add, values[: settings.n_maps], f"patched:{method}")
