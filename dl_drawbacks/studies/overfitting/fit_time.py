"""Time to fit against the corrupted share of labels (Zhang et al. 2017, Fig. 1b: "the time to overfit grows
with the level of label corruption"): per seed, the least-squares slope of log(epochs to fit) on the corrupted
share (label_noise; 1 for random labels), then a Student-t interval over the seeds' slopes (statistics.t_interval)."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ...statistics import REAL, t_interval


def corrupted_share(t: pl.DataFrame) -> pl.Expr:
    """The share of training labels not drawn from the data: label_noise, or 1 for random labels."""
    return pl.when(pl.col("random_labels") > 0).then(1.0).otherwise(pl.col("label_noise").cast(pl.Float64))


def fit_time_trend(t: pl.DataFrame, o: Any) -> dict[str, Any]:
    """Slope of log(epochs to reach ``fit_threshold`` train accuracy) per unit corrupted share, over seeds; a
    condition a seed never fitted leaves that seed out (the count is reported, never hidden)."""
    t = t.filter(pl.col("shuffle_pixels") == 0)  # the pixel-shuffle finding compares those with their twins
    if t.height == 0:
        return {"available": False, "reason": "no trial with its pixels in place in the corruption sweep"}
    t = t.with_columns(corrupted_share(t).alias("share"))
    shares = sorted(t["share"].unique().to_list())
    if len(shares) < 2:
        return {"available": False, "reason": f"one corrupted share ({shares[0]:g}): no trend to measure"}
    slopes, unfitted = [], []
    for (seed,), g in t.group_by("seed", maintain_order=True):
        if g["epochs_to_fit"].null_count() or g.height < len(shares):
            unfitted.append(int(seed))
            continue
        x, y = g["share"].to_numpy(), np.log(g["epochs_to_fit"].to_numpy().astype(float))
        slopes.append(float(np.polyfit(x, y, 1)[0]))
    median = t.group_by("share").agg(pl.col("epochs_to_fit").median().alias("median_epochs_to_fit"),
                                     pl.col("epochs_to_fit").is_not_null().sum().alias("seeds_fitted"),
                                     pl.len().alias("seeds")).sort("share")
    return {
        "available": True,
        "definition": f"per seed, slope of log(epochs to {o.fit_threshold:g} train accuracy) on the corrupted share "
                      "(0..1, random labels = 1), trials with their pixels in place; > 0: fitting takes longer as "
                      "corruption grows",
        "shares": shares,
        "per_share": median.to_dicts(),
        "seeds_left_out": unfitted,
        "slope": t_interval(slopes, domain=REAL, level=o.level, over="seeds").to_dict(),
    }
