"""The summaries of one condition: the planted-feature probe against its negative control, the audit of the
clean model (faithfulness per baseline, captum robustness, sanity against the reference similarity,
agreement, cost) and the price of interpretability. A part that cannot be measured says why."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ...statistics import NONNEGATIVE, POSITIVE, UNIT, Domain, bounded, nested_interval, t_interval, value_range
from .twins import FIT as TWIN_FIT

COMPARISONS = ("randomised", "independent", "label_random")
MIN_DROP, MIN_FOLLOW = 0.2, 0.5  # the planted model's reliance on its patch (issue 25)
RELIANCE_RULE = (
    f"established when the planted model's mean accuracy drop on patch removal is at least {MIN_DROP:g} or at least "
    f"{MIN_FOLLOW:g} of its predictions follow a wrong-label patch"
)
MIN_WEIGHT_CHANGE = 0.05  # AdamW's decay alone moves untrained weights by lr·wd per step (~0.2% in 200 steps)
TRAINED_RULE = (
    f"trained when the first-layer weights on the patch pixels moved by at least {MIN_WEIGHT_CHANGE:g} of their "
    "initial norm on every seed"
)
DIFFERENCE = bounded(-1, 1)  # of two accuracies, AUCs or shares
CORRELATION = bounded(-1, 1)  # a Spearman or a similarity
CORRELATION_GAP = bounded(-2, 2)  # the difference of two correlations


def per_seed_samples(rows: pl.DataFrame, metric: str, group: str, trial_ids: list[str]) -> list[np.ndarray]:
    """Per trial (seed), the per-sample values of ``metric``/``group`` in sample order (rows with ``epoch``)."""
    part = rows.filter((pl.col("metric") == metric) & (pl.col("group") == group) & pl.col("trial_id").is_in(trial_ids))
    return [
        v for v in (part.filter(pl.col("trial_id") == t).sort("epoch")["value"].to_numpy() for t in trial_ids) if v.size
    ]


def nested(per_seed: list[np.ndarray], level: float, domain: Domain) -> dict[str, Any]:
    return nested_interval([v[np.isfinite(v)] for v in per_seed], level=level, domain=domain).to_dict()


def over_seeds(values: Any, level: float, domain: Domain) -> dict[str, Any]:
    return t_interval([v for v in values if v is not None], domain=domain, level=level, over="seeds").to_dict()


def _per_trial(rows: pl.DataFrame, metric: str, trial_ids: list[str]) -> dict[str, list[float]]:
    """group -> per-trial values of a scalar metric (rows without step/epoch)."""
    part = rows.filter(
        (pl.col("metric") == metric)
        & pl.col("trial_id").is_in(trial_ids)
        & pl.col("step").is_null()
        & pl.col("epoch").is_null()
    )
    return {g: p["value"].to_list() for (g,), p in part.group_by("group", maintain_order=True)}


def _unavailable(reason: str) -> dict[str, Any]:
    return {"available": False, "reason": reason}


def _paired(planted: pl.DataFrame, clean: pl.DataFrame) -> list[tuple[str, str]]:
    by_seed = dict(zip(clean["seed"].to_list(), clean["trial_id"].to_list()))
    return [(t, by_seed[s]) for s, t in zip(planted["seed"].to_list(), planted["trial_id"].to_list()) if s in by_seed]


def _reliance(t: pl.DataFrame, level: float) -> dict[str, Any]:
    drop = (t["network_accuracy_test_planted"] - t["network_accuracy_test"]).to_list()
    return {
        "accuracy_true_patch": over_seeds(t["network_accuracy_test_planted"].to_list(), level, UNIT),
        "accuracy_patch_removed": over_seeds(t["network_accuracy_test"].to_list(), level, UNIT),
        "accuracy_wrong_patch": over_seeds(t["network_accuracy_test_patch_random"].to_list(), level, UNIT),
        "accuracy_drop": over_seeds(drop, level, DIFFERENCE),
        "prediction_flips": over_seeds(t["patch_removal_flips"].to_list(), level, UNIT),
        "follows_wrong_patch": over_seeds(t["patch_follows_wrong"].to_list(), level, UNIT),
    }


def _relies(r: dict[str, Any]) -> bool:
    """The planted model's own check: it uses the patch (``RELIANCE_RULE``)."""
    drop, follows = r["accuracy_drop"]["estimate"], r["follows_wrong_patch"]["estimate"]
    return (drop is not None and drop >= MIN_DROP) or (follows is not None and follows >= MIN_FOLLOW)


def _control_trained(c: pl.DataFrame) -> dict[str, Any]:
    """The negative control's own check: the first-layer weights on its patch pixels trained (``TRAINED_RULE``)."""
    change = [v for v in c["patch_weight_change"].to_list() if v is not None]
    passes = bool(change) and len(change) == c.height and min(change) >= MIN_WEIGHT_CHANGE
    return {
        "weight_change": value_range(change, over="seeds").to_dict(),
        "passes": passes,
        "rule": TRAINED_RULE,
        "reason": None if passes else (
            f"the control's patch weights moved by {min(change):.3g} of their norm (< {MIN_WEIGHT_CHANGE:g}): "
            "its patch pixels never trained (set treatment.control_patch: true)" if change
            else "the control's patch weights were not recorded (not a fully connected first layer, or rows from "
            "before study version 5)"
        ),
    }


def _localisation(rows: pl.DataFrame, pairs: list[tuple[str, str]], method: str, level: float) -> dict[str, Any]:
    planted_ids, clean_ids = [p for p, _ in pairs], [c for _, c in pairs]
    out: dict[str, Any] = {}
    for score in ("auc", "share"):
        metric = f"localisation_{score}"
        tp, tc = per_seed_samples(rows, metric, method, planted_ids), per_seed_samples(rows, metric, method, clean_ids)
        lift = [a - b for a, b in zip(tp, tc) if a.shape == b.shape]  # same explained samples, same stamp, per seed
        out[score] = {
            "planted": nested(tp, level, UNIT),
            "control": nested(tc, level, UNIT),
            "lift_over_control": nested(lift, level, DIFFERENCE),
        }
    flips = per_seed_samples(rows, "patch_flip", "patch", planted_ids)
    auc = per_seed_samples(rows, "localisation_auc", method, planted_ids)
    f, a = (
        (np.concatenate(flips), np.concatenate(auc))
        if flips and auc and len(flips) == len(auc)
        else (np.array([]),) * 2
    )
    out["auc_by_reliance"] = {
        "flipped": {"mean": float(a[f > 0].mean()) if (f > 0).any() else None, "n": int((f > 0).sum())},
        "not_flipped": {"mean": float(a[f == 0].mean()) if (f == 0).any() else None, "n": int((f == 0).sum())},
        "over": "explained samples of every planted seed (a mean, no interval)",
    }
    return out


def planted_summary(rows: pl.DataFrame, clean: pl.DataFrame, planted: pl.DataFrame, level: float) -> dict[str, Any]:
    """Reliance of the planted model and its control; localisation of each; lift over the control, given reliance."""
    if planted.height == 0:
        return _unavailable("no planted trial in this condition")
    pairs = _paired(planted, clean)
    if not pairs:
        return _unavailable("no negative control: add treatment.planted: [true, false] to the sweep (same seeds)")
    p = planted.filter(pl.col("trial_id").is_in([a for a, _ in pairs])).sort("seed")
    c = clean.filter(pl.col("trial_id").is_in([b for _, b in pairs])).sort("seed")
    diff = (
        (p["network_accuracy_test_planted"] - p["network_accuracy_test"])
        - (c["network_accuracy_test_planted"] - c["network_accuracy_test"])
    ).to_list()
    planted_reliance, control_reliance = _reliance(p, level), _reliance(c, level)
    relies, trained = _relies(planted_reliance), _control_trained(c)
    methods = sorted(set(rows.filter(pl.col("metric") == "localisation_auc")["group"].to_list()))
    localisation = {m: _localisation(rows, pairs, m, level) for m in methods}
    for m, loc in localisation.items():
        lift = loc["auc"]["lift_over_control"]
        judged = relies and trained["passes"]
        loc["finds_planted_feature"] = None if not judged or lift["low"] is None else bool(lift["low"] > 0)
        if not relies:
            loc["reason"] = ("not judged: the planted model's reliance on the patch is not established "
                             f"({RELIANCE_RULE})")
        elif not trained["passes"]:
            loc["reason"] = f"not judged: {trained['reason']}"
    area = rows.filter(pl.col("metric") == "patch_area_share")["value"]
    return {
        "available": True,
        "pairs": len(pairs),
        "patch_area_share": float(area[0]) if area.len() else None,
        "reliance": {
            "planted": planted_reliance,
            "control": control_reliance,
            "drop_over_control": over_seeds(diff, level, bounded(-2, 2)),
            "established": relies,
            "rule": RELIANCE_RULE,
        },
        "control_trained": trained,
        "localisation": localisation,
    }


def _faithfulness(rows: pl.DataFrame, ids: list[str], level: float) -> dict[str, Any]:
    auc = {m: _per_trial(rows, m, ids) for m in ("deletion_auc", "insertion_auc")}
    out: dict[str, dict[str, Any]] = {}
    for group in auc["deletion_auc"]:
        method, _, baseline = group.partition("@")
        if method == "random" or f"random@{baseline}" not in auc["deletion_auc"]:
            continue
        d, i = auc["deletion_auc"], auc["insertion_auc"]
        out.setdefault(method, {})[baseline] = {
            "deletion_auc": over_seeds(d[group], level, UNIT),
            "insertion_auc": over_seeds(i[group], level, UNIT),
            "deletion_gain": over_seeds([r - v for r, v in zip(d[f"random@{baseline}"], d[group])], level, DIFFERENCE),
            "insertion_gain": over_seeds([v - r for r, v in zip(i[f"random@{baseline}"], i[group])], level, DIFFERENCE),
        }
    return out


def _twin_control(rows: pl.DataFrame, ids: list[str]) -> dict[str, Any]:
    """The data-randomisation twin's own check: it fitted its permuted labels (Zhang et al. 2017) on every seed."""
    fit = _per_trial(rows, "twin_fit_accuracy", ids).get("label_random", [])
    steps = _per_trial(rows, "twin_steps", ids).get("label_random", [])
    passes = bool(fit) and len(fit) == len(ids) and min(fit) >= TWIN_FIT
    reached = value_range(fit, over="seeds").to_dict()
    return {
        "fit_accuracy": reached,
        "steps": value_range(steps, over="seeds").to_dict(),
        "passes": passes,
        "rule": f"the permuted-label twin fits its own labels to at least {TWIN_FIT:g} train accuracy on every seed",
        "reason": None if passes else (
            f"refused: the permuted-label twin reached {reached['low']:.3g} train accuracy on its labels "
            f"(< {TWIN_FIT:g}): it did not fit them, so it is no data-randomisation control" if fit
            else "refused: the permuted-label twin's fit was not recorded (rows from before study version 5)"
        ),
    }


def _sanity(rows: pl.DataFrame, ids: list[str], level: float) -> dict[str, Any]:
    groups = set(rows.filter(pl.col("metric") == "sanity_similarity")["group"].to_list())
    twin = _twin_control(rows, ids)
    out = {}
    for method in sorted({g.partition("@")[0] for g in groups}):
        sim = {c: per_seed_samples(rows, "sanity_similarity", f"{method}@{c}", ids) for c in COMPARISONS}
        entry: dict[str, Any] = {c: nested(v, level, CORRELATION) for c, v in sim.items()}
        for test, other in (("model_randomisation", "randomised"), ("data_randomisation", "label_random")):
            gap = [a - b for a, b in zip(sim["independent"], sim[other]) if a.shape == b.shape]
            iv = nested(gap, level, CORRELATION_GAP)
            entry[test] = {
                "reference_minus_randomised": iv,
                "passes": None if iv["low"] is None else bool(iv["low"] > 0),
            }
            if test == "data_randomisation":
                entry[test]["control"] = twin
                if not twin["passes"]:
                    entry[test].update(passes=None, reason=twin["reason"])
        depth = rows.filter(
            (pl.col("metric") == "sanity_spearman") & (pl.col("group") == method) & pl.col("trial_id").is_in(ids)
        )
        entry["by_depth"] = [
            {"depth": int(k), "spearman": over_seeds(p["value"].to_list(), level, CORRELATION)}
            for (k,), p in depth.group_by("step", maintain_order=True)
        ]
        entry["by_depth"].sort(key=lambda e: e["depth"])
        out[method] = entry
    return out


def audit_summary(rows: pl.DataFrame, clean: pl.DataFrame, level: float) -> dict[str, Any]:
    """Faithfulness per baseline, captum robustness, sanity, agreement and cost of the clean models' explanations."""
    ids = clean["trial_id"].to_list()
    if not ids:
        return _unavailable(
            "no clean trial (treatment.planted: false) in this condition: its explanations are not audited"
        )
    if (
        rows.filter(
            pl.col("metric").is_in(["deletion_auc", "sanity_similarity"]) & pl.col("trial_id").is_in(ids)
        ).height
        == 0
    ):
        return _unavailable("the clean trials recorded no explanation rows")
    robust = ("infidelity_noise", "infidelity_removal", "sensitivity_max")
    scalar = {m: _per_trial(rows, m, ids) for m in (*robust, "explain_seconds_per_sample", "agreement_spearman")}
    twin = rows.filter((pl.col("metric") == "twin_accuracy") & pl.col("trial_id").is_in(ids))
    return {
        "available": True,
        "faithfulness": _faithfulness(rows, ids, level),
        "robustness": {
            m: {k: over_seeds(scalar[k].get(m, []), level, NONNEGATIVE) for k in robust}
            for m in sorted({*scalar["sensitivity_max"], *scalar["infidelity_noise"]}, key=lambda m: (m == "random", m))
        },
        "cost_seconds_per_sample": {
            m: over_seeds(v, level, POSITIVE) for m, v in sorted(scalar["explain_seconds_per_sample"].items())
        },
        "sanity": _sanity(rows, ids, level),
        "twin_accuracy": {
            f"{g}/{s}": over_seeds(p["value"].to_list(), level, UNIT)
            for (g, s), p in twin.group_by("group", "split", maintain_order=True)
        },
        "agreement": {pair: over_seeds(v, level, CORRELATION)
                      for pair, v in sorted(scalar["agreement_spearman"].items())},
    }


def price_summary(rows: pl.DataFrame, clean: pl.DataFrame, level: float) -> dict[str, Any]:
    """Clean-data test accuracy of the network against each tuned interpretable model; gap per seed, t over seeds."""
    ids = clean["trial_id"].to_list()
    interp = rows.filter(
        (pl.col("metric") == "interpretable_accuracy") & (pl.col("split") == "test") & pl.col("trial_id").is_in(ids)
    )
    if interp.height == 0:
        return _unavailable("no clean trial scored the interpretable models (they are fitted on clean data only)")
    net = dict(zip(clean["trial_id"].to_list(), clean["network_accuracy_test"].to_list()))
    knobs = rows.filter(
        pl.col("metric").str.starts_with("interpretable_")
        & (pl.col("metric") != "interpretable_accuracy")
        & pl.col("trial_id").is_in(ids)
    )
    out = {"available": True, "network_accuracy": over_seeds(list(net.values()), level, UNIT), "models": {}}
    for (model,), part in interp.group_by("group", maintain_order=True):
        pairs = [(net[t], v) for t, v in zip(part["trial_id"], part["value"]) if net.get(t) is not None]
        chosen = knobs.filter(pl.col("group") == model)
        out["models"][model] = {
            "accuracy": over_seeds([v for _, v in pairs], level, UNIT),
            "gap": over_seeds([n - v for n, v in pairs], level, DIFFERENCE),
            "chosen": {
                m.removeprefix("interpretable_"): value_range(p["value"].to_list(), over="seeds").to_dict()
                for (m,), p in chosen.group_by("metric")
            },
        }
    return out
