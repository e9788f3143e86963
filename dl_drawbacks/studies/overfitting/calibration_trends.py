"""Guo et al. 2017's two calibration findings, measured: does miscalibration grow with width (their Fig. 2: ECE
rises with depth and width at fixed data, without weight decay), and how much does temperature scaling fitted on
validation remove (their Table 1: test ECE cut by well over half)?

- ``ece_width_slope``: per seed, the least-squares slope of raw test ECE on log2(width) across the width sweep at
  one noise level, size, budget and regularizer (ECE per doubling of the width); Student-t over seeds.
- ``temperature_scaling_ratio``: per condition, test ECE after temperature scaling / raw test ECE, each seed's
  ratio on its own test predictions; nested interval over seeds × test samples on the log scale (a ratio).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ...statistics import POSITIVE, REAL, nested_interval, t_interval
from .calibration import ece_of_signed
from .generalization import undefined

GROUP = ("label_noise", "random_labels", "depth", "n_train", "epochs", "regularizer")


def _ratio(samples: np.ndarray) -> float:
    raw = ece_of_signed(samples[:, 0])
    return ece_of_signed(samples[:, 1]) / raw if raw > 0 else float("nan")


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
        g = t
        for c, v in key.items():
            g = g.filter(pl.col(c) == v) if v is not None else g.filter(pl.col(c).is_null())
        g = g.filter(pl.col("ece_raw").is_not_null())
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
