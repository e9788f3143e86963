"""The ROAR summary of one condition. Hooker et al. 2019 (NeurIPS, "A Benchmark for Interpretability Methods in
Deep Neural Networks") report, per method and fraction removed, the mean test accuracy of models retrained on the
degraded data (5 retrainings each) beside a random ranking's, at fraction 0 the unmodified model's accuracy.

Here: the same curves, each point with a nested interval (t over seeds + bootstrap over the shared test samples)
from per-sample correctness rows; the fraction-0 point is the condition's clean trials (the unmodified model);
per method the ROAR gain over random = mean over fractions of (accuracy of random − accuracy of the method),
paired by seed and test sample, with the same nested interval. "degrades faster than random" only when the
interval's lower end is above 0, and only when its controls pass (``roar_controls.py``): the mask-only control
(the removal mask alone must not predict the label well above random masks) and the convergence of every
retraining the gain compares (the method's and random's). A refused verdict keeps its number and says why.
Random is the negative control: its gain is 0 by construction, its curve the reference. A condition without ROAR
trials, only random, one seed or no predictions says so.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

import numpy as np
import polars as pl

from ...statistics import UNIT
from .imputation import RANDOM
from .roar_controls import CONVERGENCE_RULE, LEAK_RULE, convergence, mask_control, reference, roar_settings
from .summaries import DIFFERENCE, nested, over_seeds, per_seed_samples

NOT_RUN_IN_STUDY = "ROAR not run: no trial with treatment.roar_fraction"
NOT_RUN = f"{NOT_RUN_IN_STUDY} in this condition"
RULE = (
    "degrades faster than random when the interval of the gain (mean over fractions of random's accuracy minus "
    "the method's, paired by seed and test sample) lies above 0"
)

Arrays = dict[tuple[str, float], dict[int, np.ndarray]]  # (method, fraction) -> seed -> per-sample correctness


def _unavailable(reason: str) -> dict[str, Any]:
    return {"available": False, "reason": reason}


def _correct(rows: pl.DataFrame, trial_id: str) -> np.ndarray:
    found = per_seed_samples(rows, "correct", "", [trial_id])
    return found[0] if found else np.array([])


def _arrays(rows: pl.DataFrame, roar: pl.DataFrame) -> tuple[Arrays, int]:
    """Per-sample correctness of every ROAR trial by (ranking, fraction) and seed; and how many had none."""
    arrays: Arrays = {}
    missing = 0
    for tid, method, fraction, seed in roar_settings(rows, roar):
        values = _correct(rows, tid)
        if not np.isfinite(fraction) or values.size == 0 or not np.isfinite(values).any():
            missing += 1
            continue
        arrays.setdefault((method, round(float(fraction), 6)), {})[seed] = values
    return arrays, missing


def _paired(arrays: Arrays, method: str) -> tuple[list[float], list[int]]:
    """Fractions where the method and random share a seed, and the seeds they share at every such fraction."""
    shared = {}
    for (m, f), by_seed in arrays.items():
        other = arrays.get((reference(method), f), {})
        if m == method:
            seeds = {s for s, v in by_seed.items() if s in other and other[s].shape == v.shape}
            if seeds:
                shared[f] = seeds
    fractions = sorted(shared)
    return fractions, sorted(reduce(set.intersection, shared.values())) if shared else []


def _refusal(method: str, masks: dict[str, Any], converged: dict[str, Any]) -> str | None:
    """Why the method's verdict is refused by a control, or None when both controls pass."""
    mask = masks.get(method)
    if mask is None:
        return "the mask-only control was not recorded (rows from before study version 5)"
    if mask["passes"] is not True:
        return f"mask-only control: {mask['reason']} (leak {mask['leak']['estimate']:.3g})"
    for m in (method, reference(method)):
        c = converged.get(m)
        if c is None or not c["passes"]:
            return f"retraining ({m}): {c['reason'] if c else 'no train accuracy recorded'}"
    return None


def _gain(
    arrays: Arrays, method: str, level: float, masks: dict[str, Any], converged: dict[str, Any]
) -> dict[str, Any]:
    ref = reference(method)
    if not any(m == ref for m, _ in arrays):
        return _unavailable(f"no trial with the random ranking under the same imputation (the reference {ref}): "
                            "add random to treatment.roar_method")
    fractions, seeds = _paired(arrays, method)
    if not seeds:
        return _unavailable(f"no seed ran both {method} and random at the same fractions")
    diff = {f: {s: arrays[(ref, f)][s] - arrays[(method, f)][s] for s in seeds} for f in fractions}
    gain = nested([np.mean([diff[f][s] for f in fractions], axis=0) for s in seeds], level, DIFFERENCE)
    entry: dict[str, Any] = {
        "available": True,
        "gain": gain,
        "fractions": fractions,
        "seeds": seeds,
        "by_fraction": [{"fraction": f, "gain": nested(list(diff[f].values()), level, DIFFERENCE)} for f in fractions],
    }
    refusal = _refusal(method, masks, converged)
    if len(seeds) < 2:
        entry.update(verdict=None, reason="one seed: seed-to-seed variation is not measured; not judged")
    elif gain["low"] is None:
        entry.update(verdict=None, reason=f"not judged: {gain['reason']}")
    elif refusal:
        entry.update(verdict=None, reason=f"refused: {refusal}")
    else:
        entry["verdict"] = "degrades faster than random" if gain["low"] > 0 else "no faster than random"
    return entry


def _source_accuracy(rows: pl.DataFrame, roar: pl.DataFrame, level: float) -> dict[str, Any]:
    """Test accuracy of the models that ranked the features (one per seed, shared by its ROAR trials)."""
    part = rows.filter((pl.col("metric") == "roar_source_accuracy") & pl.col("trial_id").is_in(roar["trial_id"]))
    return over_seeds(part.group_by("seed").agg(pl.col("value").first())["value"].to_list(), level, UNIT)


def _fill(rows: pl.DataFrame, roar: pl.DataFrame) -> str:
    part = rows.filter((pl.col("metric") == "roar_imputation_noise") & pl.col("trial_id").is_in(roar["trial_id"]))
    kinds = sorted(set(zip(part["group"].to_list(), part["value"].to_list())))
    names = {"mean": "per-feature training mean",
             "linear": "noisy linear imputation from the neighbours (ROAD, Rong et al. 2022), noise SD {:g}"}
    return "; ".join(names[k].format(v) for k, v in kinds) or "per-feature training mean"


def _removed(rows: pl.DataFrame, roar: pl.DataFrame) -> dict[str, int]:
    part = rows.filter((pl.col("metric") == "roar_features_removed") & pl.col("trial_id").is_in(roar["trial_id"]))
    settings = rows.filter((pl.col("metric") == "roar_fraction") & pl.col("trial_id").is_in(roar["trial_id"]))
    joined = part.select("trial_id", pl.col("value").alias("k")).join(
        settings.select("trial_id", pl.col("value").alias("f")), on="trial_id"
    )
    finite = joined.filter(pl.col("f").is_finite() & pl.col("k").is_finite())
    return {f"{f:g}": int(k) for f, k in finite.unique("f").sort("f").select("f", "k").iter_rows()}


def roar_summary(rows: pl.DataFrame, clean: pl.DataFrame, roar: pl.DataFrame, level: float) -> dict[str, Any]:
    """ROAR curves per method (with the fraction-0 point of the clean trials) and each method's gain over random."""
    if roar.height == 0:
        return _unavailable(NOT_RUN)
    arrays, missing = _arrays(rows, roar)
    if not arrays:
        return _unavailable(
            f"every one of the {roar.height} ROAR trials ended without test predictions " "(failed or diverged)"
        )
    methods = sorted({m for m, _ in arrays}, key=lambda m: (reference(m).partition("@")[2], m != reference(m), m))
    clean_correct = [v for v in (_correct(rows, t) for t in clean["trial_id"].to_list()) if v.size]
    curves = {
        m: [
            {"fraction": f, "accuracy": nested(list(by_seed.values()), level, UNIT), "seeds": len(by_seed)}
            for (mm, f), by_seed in sorted(arrays.items())
            if mm == m
        ]
        for m in methods
    }
    compared = [m for m in methods if m != reference(m)]
    masks, converged = mask_control(rows, roar, level), convergence(rows, roar)
    return {
        "available": True,
        "trials": roar.height,
        "without_predictions": missing,
        "reference": RANDOM,
        "fill": _fill(rows, roar),
        "features_removed": _removed(rows, roar),
        "source_accuracy": _source_accuracy(rows, roar, level),
        "clean_accuracy": (
            nested(clean_correct, level, UNIT)
            if clean_correct
            else _unavailable(
                "no clean trial (treatment.planted: false) with test predictions in this condition: no fraction-0 point"
            )
        ),
        "curves": curves,
        "gains": {m: _gain(arrays, m, level, masks, converged) for m in compared},
        "mask_control": masks,
        "mask_rule": LEAK_RULE,
        "convergence": converged,
        "convergence_rule": CONVERGENCE_RULE,
        "gains_reason": None if compared else "only the random ranking ran: no attribution method to compare",
        "rule": RULE,
        "intervals": "nested: t over seeds + bootstrap over the test samples every seed shares",
    }
