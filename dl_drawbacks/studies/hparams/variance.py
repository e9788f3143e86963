"""Seed vs hyperparameter variance from one designed experiment: K configurations that train, each run over
the same S fresh seeds at the full budget. The K are the first configurations of the full-budget Sobol sample
whose search-seed run trains (``followups.trains``: validation accuracy covers ``trains_above_chance`` of the
distance from chance to 1), so the share is not inflated by configurations that never leave chance; below
``MIN_VARIANCE_CONFIGS`` such configurations it is not measurable.

How it is done in the field: a random-effects variance decomposition of benchmark outcomes
(Bouthillier et al. 2021, "Accounting for variance in machine learning benchmarks", MLSys), here the
two-way crossed random-effects ANOVA without replication with moment (ANOVA) estimators (Searle,
Casella & McCulloch 1992, ch. 4): configuration, seed (what a seed does to every configuration) and
residual (configuration x seed). A negative moment estimate is reported as it is and flagged; shares
use the components with negatives set to 0, and say which. Interval: scipy's bootstrap (BCa, falling
back to percentile) over the configurations, each keeping its seeds (the cluster bootstrap).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ...statistics import UNIT, bootstrap_interval
from .followups import FULL, trains, variance_configs
from .options import MIN_VARIANCE_CONFIGS, HparamsOptions
from .trials import config_id


def design_matrix(table: pl.DataFrame, options: HparamsOptions) -> tuple[np.ndarray, list[str], int]:
    """Objective of the design's runs as a configurations x seeds matrix (complete rows only), the
    config ids kept, and how many design configurations lacked a seed (failed trials)."""
    names = list(options.search_space)
    ids = [config_id({n: c[n] for n in names}) for c in variance_configs(table, options)]
    runs = table.filter(pl.col("config_id").is_in(ids) & pl.col("seed").is_in(options.seeds)
                        & pl.col("status").is_in(FULL) & (pl.col("sweep") == "variance")) if ids else table.head(0)
    cells = {(r["config_id"], r["seed"]): r["objective"] for r in runs.iter_rows(named=True)}
    kept = [c for c in ids if all(cells.get((c, s)) is not None for s in options.seeds)]
    matrix = np.array([[cells[(c, s)] for s in options.seeds] for c in kept], dtype=float)
    matrix = matrix.reshape(len(kept), len(options.seeds))
    return matrix, kept, len(ids) - len(kept)


def components(y: np.ndarray) -> dict[str, float]:
    """Moment estimates of the configuration, seed and residual variance of a K x S matrix."""
    k, s = y.shape
    grand, rows, cols = y.mean(), y.mean(axis=1), y.mean(axis=0)
    ms_config = s * ((rows - grand) ** 2).sum() / (k - 1)
    ms_seed = k * ((cols - grand) ** 2).sum() / (s - 1)
    ms_resid = ((y - rows[:, None] - cols[None, :] + grand) ** 2).sum() / ((k - 1) * (s - 1))
    return {"hyperparameters": float((ms_config - ms_resid) / s), "seed": float((ms_seed - ms_resid) / k),
            "residual": float(ms_resid)}


def hparam_share(y: np.ndarray) -> float:
    """Share of the hyperparameter component (negative components as 0); 0 for a resample with no variance."""
    c = {k: max(0.0, v) for k, v in components(y).items()}
    total = sum(c.values())
    return c["hyperparameters"] / total if total > 0 else 0.0


def seed_variance(table: pl.DataFrame, options: HparamsOptions) -> dict[str, Any]:
    definition = (f"a configuration trains when its full-budget validation accuracy (search seed) is at least chance "
                  f"+ {options.trains_above_chance:g} x (1 - chance), chance = the majority class share of validation")
    if options.variance_configs == 0:
        return {"available": False, "reason": "not measured: analysis.variance_configs is 0"}
    sample = table.filter(pl.col("sweep") == "sample") if table.height else table
    training = sample.filter(trains(options)).height if sample.height else 0
    y, kept, dropped = design_matrix(table, options)
    base = {"design": f"{len(kept)} configurations that train x {len(options.seeds)} fresh seeds",
            "configs_used": len(kept), "configs_dropped": dropped, "seeds": list(options.seeds), "trains": definition,
            "sample_configs": sample.height, "sample_configs_that_train": training}
    if len(kept) < MIN_VARIANCE_CONFIGS:
        return {"available": False, **base,
                "reason": f"not measurable: {len(kept)} configurations that train ran every seed to the full budget "
                          f"(need >= {MIN_VARIANCE_CONFIGS}; {training} of {sample.height} configurations of the "
                          "full-budget sample train)"}
    if np.ptp(y) == 0:
        return {"available": False, **base, "reason": "not measurable: every run of the design scored the same"}
    comp = components(y)
    negative = [k for k, v in comp.items() if v < 0]
    kept_comp = {k: max(0.0, v) for k, v in comp.items()}
    total = sum(kept_comp.values())
    if total == 0:
        return {"available": False, **base, "components": comp,
                "reason": "not measurable: every variance component estimate is <= 0"}
    shares = {k: v / total for k, v in kept_comp.items()}
    share_iv = bootstrap_interval(np.arange(len(kept)), lambda idx: hparam_share(y[idx.astype(int)]),
                                  domain=UNIT, over="configurations", seed=options.sample_seed,
                                  n_resamples=1000)
    return {"available": True, **base, "components": comp, "shares": shares, "negative_estimates_set_to_0": negative,
            "hparam_share": shares["hyperparameters"], "seed_share": shares["seed"] + shares["residual"],
            "hparam_share_interval": share_iv.to_dict(),
            "per_config": [{"config_id": c, "mean": float(y[i].mean()), "sd_over_seeds": float(y[i].std(ddof=1))}
                           for i, c in enumerate(kept)],
            "objective": "validation accuracy at the full budget (diverged: chance), configurations that train only",
            "method": "two-way random-effects ANOVA (configuration, seed, residual), moment estimators; seed share = "
                      "seed + residual (what changing only the seed does to one configuration); interval of the "
                      f"hyperparameter share: bootstrap over the {len(kept)} configurations ({share_iv.method})"}
