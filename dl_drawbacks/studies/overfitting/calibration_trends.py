"""Guo et al. 2017's two calibration findings, measured: does miscalibration grow with width (their Fig. 2: ECE
rises with depth and width at fixed data, without weight decay), and how much does temperature scaling fitted on
validation remove (their Table 1: test ECE cut by well over half)?

- ``ece_width_slope``: per seed, the least-squares slope of raw test ECE on log2(width) across the width sweep at
  one noise level, size, budget and regularizer (ECE per doubling of the width); Student-t over seeds.
- ``temperature_scaling_ratio``: per condition, test ECE after temperature scaling / raw test ECE, each seed's
  ratio on its own test predictions; nested interval over seeds × test samples on the log scale (a ratio).
- ``calibration_by_condition``: the per-condition calibration table these trends are read from.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ...statistics import NONNEGATIVE, POSITIVE, REAL, bounded, nested_interval, t_interval
from .calibration import calibrated_ece_floor, ece_of_signed, ece_of_signed_rows, reliability_bins
from .generalization import undefined
from .trials import condition_fields, matching

GROUP = ("model_family", "label_noise", "random_labels", "shuffle_pixels", "depth", "n_train", "epochs", "regularizer")


def _ratio(samples: np.ndarray) -> float:
    raw = ece_of_signed(samples[:, 0])
    return ece_of_signed(samples[:, 1]) / raw if raw > 0 else float("nan")


def _ratio_rows(samples: np.ndarray) -> np.ndarray:
    """``_ratio`` of each replicate of a (replicates × samples × 2) array."""
    raw, ts = ece_of_signed_rows(samples[..., 0]), ece_of_signed_rows(samples[..., 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(raw > 0, ts / raw, np.nan)


_ratio.on_rows = _ratio_rows  # statistics.resample_test_sets: every replicate at once


def temperature_scaling_ratio(g: pl.DataFrame, preds: dict[str, dict[str, np.ndarray]], o: Any) -> dict[str, Any]:
    """ECE after / before temperature scaling of one condition's trials."""
    raw, ts = preds.get("final", {}), preds.get("temperature_scaled", {})
    per_seed = [np.column_stack([raw[i], ts[i]]) for i in g.sort("seed")["trial_id"] if i in raw and i in ts]
    if not per_seed:
        return undefined("no trial has raw and temperature-scaled test predictions", POSITIVE)
    return nested_interval(per_seed, _ratio, level=o.level, n_resamples=o.n_bootstrap, domain=POSITIVE).to_dict()


def ece_width_slope(t: pl.DataFrame, o: Any) -> list[dict[str, Any]]:
    """Per group of the width sweep with ≥ 3 widths: raw test ECE per doubling of the width, t over seeds."""
    out = []
    for key in t.select(*GROUP).unique(maintain_order=True).sort("random_labels", "label_noise").to_dicts():
        g = matching(t, key).filter(pl.col("ece_raw").is_not_null())
        widths = sorted(g["width"].unique().to_list())
        if len(widths) < 3:
            continue
        slopes = []
        for (_seed,), s in g.group_by("seed"):
            if s["width"].n_unique() >= 3:
                slopes.append(float(np.polyfit(np.log2(s["width"].to_numpy()), s["ece_raw"].to_numpy(), 1)[0]))
        out.append({
            **key,
            "widths": [int(w) for w in widths],
            "slope": (t_interval(slopes, domain=REAL, level=o.level, over="seeds").to_dict() if len(slopes) >= 2
                      else undefined(f"{len(slopes)} seed(s) with 3 or more widths (needs 2)", REAL)),
            "definition": "least-squares slope of raw test ECE on log2(width), per seed (ECE per doubling)",
        })
    return out


def calibration_by_condition(t: Any, preds: dict[str, dict[str, np.ndarray]], o: Any) -> list[dict[str, Any]]:
    """Per condition: ECE raw and after temperature scaling (nested over seeds × test samples), the ECE a
    calibrated model would show, NLL, Brier and T (t over seeds), and reliability bins pooled over its seeds."""
    import polars as pl

    from .generalization import nested, over_seeds
    out = []
    for cond in t.sort("random_labels", "label_noise", "width", "n_train", "epochs", "regularizer")["condition"].unique(
        maintain_order=True
    ):
        g = t.filter(pl.col("condition") == cond)
        entry: dict[str, Any] = {"condition": cond, **condition_fields(t, cond), "seeds": g.height}
        for key, prov in (("raw", "final"), ("ts", "temperature_scaled")):
            p = preds.get(prov, {})
            entry[f"ece_{key}"] = nested(g, p, lambda r, s: s, o, statistic=ece_of_signed)
            pooled = (
                np.concatenate([p[i] for i in g["trial_id"] if i in p])
                if any(i in p for i in g["trial_id"])
                else np.zeros(0)
            )
            bins = reliability_bins(np.abs(pooled), pooled > 0)
            entry[f"reliability_{key}"] = {
                k: [None if not np.isfinite(x) else float(x) for x in bins[k]]
                for k in ("count", "confidence", "accuracy")
            }
            entry[f"nll_{key}"] = over_seeds(g[f"nll_{key}"], o, NONNEGATIVE)
            entry[f"brier_{key}"] = over_seeds(g[f"brier_{key}"], o, bounded(0, 2))  # multiclass Brier: [0, 2]
        raw = preds.get("final", {})
        floors = [calibrated_ece_floor(np.abs(raw[i]), seed=k) for k, i in enumerate(g["trial_id"]) if i in raw]
        entry["ece_calibrated_floor"] = float(np.mean(floors)) if floors else None
        entry["ece_ts_over_raw"] = temperature_scaling_ratio(g, preds, o)
        entry["temperature"] = over_seeds(g["temperature"], o, POSITIVE)
        entry["temperature_at_bound"] = int(g["temperature_at_bound"].fill_null(0).sum())
        out.append(entry)
    return out
