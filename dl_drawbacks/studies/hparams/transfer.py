"""Does a good configuration carry over to another data set?

How the field measures it: the rank correlation of the same configurations' performance on two
tasks (e.g. Feurer et al. 2015 meta-learning warm starts; Probst et al. 2019 compare defaults across
data sets), and the regret of using one task's best configuration on the other. Here each data set
has its own search and its own ASHA scheduler, so the ranks are compared at each rung (evaluation)
both searches ran the configurations to: Spearman over the configurations that reached it on both,
with scipy's bootstrap over configurations. Regret is measured on re-runs with fresh seeds on the
target's test split: test(target's own choice) - test(source's choice), paired by seed, t interval.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from scipy.stats import rankdata

from ...statistics import bootstrap_interval, bounded
from .analysis import value_at_eval
from .followups import best_configs
from .trials import config_id
from .tunability import paired_gain


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho: Pearson's r of the (average) ranks; 0 (no association measurable) for a bootstrap
    resample that is constant on one side (the full sample is checked for that before)."""
    rx, ry = rankdata(x), rankdata(y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def rung_correlation(table: pl.DataFrame, curves: pl.DataFrame, at: int, seed: int) -> dict[str, Any]:
    a = value_at_eval(table, curves, "search", at).select("config_id", pl.col("objective").alias("a"))
    b = value_at_eval(table, curves, "transfer", at).select("config_id", pl.col("objective").alias("b"))
    both = a.join(b, on="config_id")
    base = {"eval": at, "configs": both.height}
    if both.height < 3:
        return {**base, "available": False, "reason": f"not measurable: {both.height} configurations reached "
                                                      f"evaluation {at} on both data sets (need >= 3)"}
    xs, ys = both["a"].to_numpy(), both["b"].to_numpy()
    if np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return {**base, "available": False,
                "reason": "not measurable: every configuration scored the same on one data set"}
    iv = bootstrap_interval(np.arange(both.height), lambda i: spearman(xs[i.astype(int)], ys[i.astype(int)]),
                            domain=bounded(-1, 1), over="configurations", seed=seed, n_resamples=1000)
    return {**base, "available": True, "rho": spearman(xs, ys), "interval": iv.to_dict()}


def regret(table: pl.DataFrame, names: list[str], seeds: list[int], *, source: str, target: str) -> dict[str, Any]:
    pick, own = best_configs(table, source, names, 1), best_configs(table, target, names, 1)
    task = table.filter(pl.col("sweep") == target)["task"]
    if not pick or not own or not task.len():
        empty = source if not pick else target
        return {"available": False, "reason": f"not measurable: no configuration of the {empty} search has a value "
                                              "to be chosen on"}
    base = {"source_choice": pick[0], "target_choice": own[0]}
    if config_id(pick[0]) == config_id(own[0]):
        return {"available": True, **base, "regret": 0.0, "interval": None,
                "note": "both searches chose the same configuration"}
    gain = paired_gain(table, config_id(own[0]), config_id(pick[0]), task[0], seeds)
    return {**base, **{("regret" if k == "gain" else k): v for k, v in gain.items()}}


def transfer(table: pl.DataFrame, curves: pl.DataFrame, names: list[str], seeds: list[int], *,
             seed: int) -> dict[str, Any]:
    b = table.filter(pl.col("sweep") == "transfer")
    if b.height == 0:
        return {"available": False,
                "reason": "not measurable: no transfer trials (set analysis.transfer, random search)"}
    if (b["status"] == "stopped_early").all():
        return {"available": False, "reason": "not measurable: every transfer trial was stopped early"}
    a = table.filter(pl.col("sweep") == "search")
    if a.height == 0:
        return {"available": False, "reason": "not measurable: no search trials on the first data set"}
    last = int(max(a["evals"].max() or 1, b["evals"].max() or 1))
    rungs = [rung_correlation(table, curves, r, seed) for r in range(1, last + 1)]
    return {"available": True, "task_a": a["task"][0], "task_b": b["task"][0], "configs": b.height,
            "by_rung": rungs, "first_rung": rungs[0],
            "regret_a_to_b": regret(table, names, seeds, source="search", target="transfer"),
            "regret_b_to_a": regret(table, names, seeds, source="transfer", target="search"),
            "method": "Spearman over the configurations both data sets' searches (each its own ASHA) ran to the "
                      "same evaluation; interval: bootstrap over those configurations. Regret: fresh-seed re-runs, "
                      "test split"}
