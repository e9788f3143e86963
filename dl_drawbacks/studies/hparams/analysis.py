"""Findings of a hyperparameter study from its outcome table (one row per trial, see ``outcomes``):
the searches, importance of the space (at the full budget, and early), where training fails and what the
search cost.

Every function returns ``{"available": False, "reason": ...}`` when its pool is empty or degenerate.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from .followups import FULL, ranked_search
from .options import HparamsOptions
from .space import sample_configs, sobol_configs
from .trials import config_id


def value_at_eval(table: pl.DataFrame, curves: pl.DataFrame, sweep: str, at: int) -> pl.DataFrame:
    """Each trial of one search with its validation accuracy at evaluation ``at``: measured if it got
    there, chance if it diverged before (a diverged model is worth chance at any later budget); trials
    stopped before ``at`` are left out."""
    search = table.filter(pl.col("sweep") == sweep)
    at_eval = curves.filter(pl.col("eval") == at).select("trial_id", pl.col("val_accuracy").alias("at_eval"))
    value = pl.when(pl.col("status") == "diverged").then(pl.col("chance")).otherwise(pl.col("at_eval"))
    return search.join(at_eval, on="trial_id", how="left").with_columns(value.alias("objective")) \
        .filter(pl.col("objective").is_not_null() & pl.col("objective").is_finite())


def common_rung(table: pl.DataFrame, sweep: str, options: HparamsOptions) -> int:
    """The evaluation every trial of the search reaches: ASHA's first rung, else the full budget."""
    reached = table.filter((pl.col("sweep") == sweep) & (pl.col("status") != "diverged"))["evals"].drop_nulls()
    full = int(reached.max()) if reached.len() else 1
    return min(options.asha.grace_period, full) if options.asha.enabled else full


def _inside(dist, name: str) -> pl.Expr:
    """The trial's value of ``name`` is one the distribution can produce (not null)."""
    if dist.kind == "choice":
        return pl.col(name).is_in(list(dist.args))
    return pl.col(name).cast(pl.Float64, strict=False).is_between(dist.args[0], dist.args[1])


def importance(table: pl.DataFrame, curves: pl.DataFrame, options: HparamsOptions) -> dict[str, Any]:
    """fANOVA (+ PED-ANOVA) on the objective users care about, the full-budget Sobol sample (``full_budget``), and
    beside it on every configuration of task A's search at its first rung (``early``)."""
    names = list(options.search_space)
    planned = list({config_id({n: c[n] for n in names}): c for c in
                    sobol_configs(options.search_space, options.full_budget_configs, seed=options.sample_seed)}.items())
    present = table.filter(pl.col("sweep") == "sample")
    sample = present.filter(pl.col("objective").is_not_null() & pl.col("objective").is_finite()
                            & pl.col("status").is_in(FULL))
    full = {"available": False, "reason": "not measured: analysis.full_budget_configs is 0"}
    if planned:
        full = _fanova_finding(sample, options, sampled=len(planned), present=present, rung=None,
                               missing=[c for cid, c in planned if cid not in set(present["config_id"])],
                               objective="validation accuracy at the full budget (diverged: chance), every "
                                         f"configuration of a scrambled Sobol sample of {len(planned)} trained "
                                         "without early stopping")
    rung = common_rung(table, "search", options)
    search = table.filter(pl.col("sweep") == "search")
    sampled = options.n_trials if options.search == "random" else search.height
    missing = [c for c in (sample_configs(options.search_space, options.n_trials, seed=options.sample_seed)
                           if options.search == "random" else []) if config_id(c) not in set(search["config_id"])]
    early = _fanova_finding(value_at_eval(table, curves, "search", rung), options, sampled=sampled, present=search,
                            missing=missing, rung=rung,
                            objective=f"EARLY: validation accuracy at evaluation {rung} of the ASHA search (diverged: "
                                      "chance), every configuration of the "
                            + ("random search" if options.search == "random" else "TPE search (not a uniform sample)")
                            + "; what matters after one evaluation, not at the full budget")
    out = {"available": bool(full.get("available") or early.get("available")), "full_budget": full, "early": early}
    if not out["available"]:
        out["reason"] = f"full budget: {full.get('reason')}; early: {early.get('reason')}"
    return out


def _fanova_finding(sample: pl.DataFrame, options: HparamsOptions, *, sampled: int, present: pl.DataFrame,
                    missing: list, rung: int | None, objective: str) -> dict[str, Any]:
    """fANOVA main effects with bootstrap and permutation null on one pool of configurations (see ``importance``)."""
    from .importance import FanovaBootstrap, ped_anova

    space = options.search_space
    names = list(space)
    absent = [n for n in names if sample.height and sample[n].null_count() == sample.height]
    if absent:
        return {"available": False, "reason": f"not measurable: the trials hold no value of {', '.join(absent)} "
                                              "(the rows come from another search space)"}
    inside = sample.filter(pl.all_horizontal([_inside(space[n], n) for n in names]))
    outside, sample = sample.height - inside.height, inside
    counts = {"configurations_sampled": sampled, "configurations_used": sample.height,
              "failed_or_missing": max(0, sampled - present.height), "missing_configs": missing,
              "without_a_value": present.height - sample.height - outside, "outside_the_space": outside,
              "rung": rung, "objective": objective}
    if sample.height < options.importance_min_trials:
        return {"available": False, **counts, "reason": f"not measurable: {sample.height} configurations have a value "
                f"(need >= {options.importance_min_trials})"}
    if sample["objective"].n_unique() < 2:
        return {"available": False, **counts, "reason": "not measurable: every configuration scored the same"}
    frame = sample.with_columns([pl.col(n).map_elements(space[n].analysis_value, return_dtype=pl.Float64).alias(n)
                                 for n in names if space[n].log_scale])
    dists = {n: space[n].analysis_distribution() for n in names}
    fit = FanovaBootstrap(dists, n_bootstrap=options.bootstraps, n_permutations=options.bootstraps,
                          n_trees=options.fanova_trees, seed=options.sample_seed).fit(frame)
    matters = [n for n in fit.ranking_ if (fit.summary_[n]["null_p_value"] or 1) <= 0.05]
    return {"available": True, **counts, "ranking": fit.ranking_, "params": fit.summary_, "matters": matters,
            "main_effects": fit.main_effects_, "interactions": fit.interactions_,
            "log10_scale": [n for n in names if space[n].log_scale], "ped_anova": ped_anova(frame, dists),
            "method": f"fANOVA main effects as shares of the forest's total variance (Hutter et al. 2014; optuna "
                      f"FanovaImportanceEvaluator, {options.fanova_trees} trees, not normalised), log-uniform "
                      f"hyperparameters as log10; interactions: 1 - sum of main effects; {options.bootstraps} "
                      f"bootstrap resamples of the configurations (basic interval, rank frequencies); null: "
                      f"{options.bootstraps} permutations of the objective against the largest importance of each "
                      "(maxT)"}


def search_summary(table: pl.DataFrame, sweep: str, names: list[str]) -> dict[str, Any]:
    """One data set's search: trials by outcome and the configuration chosen on validation."""
    search = table.filter(pl.col("sweep") == sweep)
    if search.height == 0:
        return {"available": False, "reason": f"no {sweep} trials"}
    best = ranked_search(table, sweep).head(1)
    return {"available": True, "task": search["task"][0], "trials": search.height,
            "by_status": {k: int(v) for k, v in search.group_by("status").len().sort("status").iter_rows()},
            "chosen_config": {n: best[n][0] for n in names} if best.height else None,
            "chosen_val": best["objective"][0] if best.height else None,
            "chosen_on": "validation accuracy at the furthest rung reached (the search seed's run; not a score)"}


def failure_region(table: pl.DataFrame, names: list[str]) -> dict[str, Any]:
    """Where in the space training fails: the diverged share per bin (numeric: quartiles) or category."""
    pool = table.filter(pl.col("sweep").is_in(["search", "transfer", "oat", "sample"]))
    causes = pool.filter(pl.col("status") == "diverged").group_by("divergence").len()
    out = {"trials": pool.height, "diverged": int((pool["status"] == "diverged").sum()),
           "by_cause": {k: int(v) for k, v in causes.iter_rows()}}
    bins: dict[str, list] = {}
    for n in names:
        col = pool[n]
        if pool.height == 0 or col.null_count() == pool.height:
            continue
        if col.dtype.is_numeric() and col.n_unique() > 4:
            edges = np.quantile(col.drop_nulls().to_numpy(), [0, 0.25, 0.5, 0.75, 1.0])
            labels = np.clip(np.searchsorted(edges, col.fill_null(edges[0]).to_numpy(), side="right") - 1, 0, 3)
            part = pool.with_columns(pl.Series("bin", labels))
            keys = {i: f"[{edges[i]:.3g}, {edges[i + 1]:.3g}]" for i in range(4)}
        else:
            part, keys = pool.with_columns(pl.col(n).cast(pl.String).alias("bin")), None
        g = part.group_by("bin").agg(pl.len().alias("trials"),
                                     (pl.col("status") == "diverged").mean().alias("diverged_share"))
        bins[n] = [{"bin": keys[r["bin"]] if keys else r["bin"], "trials": r["trials"],
                    "diverged_share": r["diverged_share"]} for r in g.sort("bin").iter_rows(named=True)]
    out["by_hparam"] = bins
    return out


def _budget(part: pl.DataFrame) -> dict[str, Any]:
    scale = pl.when(pl.col("status") == "stopped_early").then(pl.col("steps_planned") / pl.col("steps")).otherwise(1.0)
    p = part.with_columns(scale.fill_null(1.0).alias("scale"))
    energy, seconds = p["energy_j"].fill_null(0.0), p["train_s"].fill_null(0.0)
    full_energy, full_seconds = (energy * p["scale"]).sum(), (seconds * p["scale"]).sum()
    return {"trials": p.height, "stopped_early": int((p["status"] == "stopped_early").sum()),
            "steps": int(p["steps"].fill_null(0).sum()), "train_seconds": float(seconds.sum()),
            "energy_j": float(energy.sum()),
            "projected_full_budget_energy_j": float(full_energy), "projected_full_budget_seconds": float(full_seconds),
            "energy_saved_fraction": float(1 - energy.sum() / full_energy) if full_energy > 0 else None,
            "time_saved_fraction": float(1 - seconds.sum() / full_seconds) if full_seconds > 0 else None}


def cost(table: pl.DataFrame) -> dict[str, Any]:
    """The cost of tuning in one estimator: every trial's energy meters over its training window (to its
    end, or to its last evaluation when ASHA stopped it); ASHA's saving per data set against running each
    sampled configuration to the full budget (a stopped trial projected as cost x planned / run steps)."""
    provenance = sorted({p for p in table["energy_provenance"].drop_nulls().to_list()}) if table.height else []
    searches = {}
    for sweep in ("search", "transfer"):
        part = table.filter(pl.col("sweep") == sweep)
        if part.height:
            searches[part["task"][0]] = {"sweep": sweep, **_budget(part)}
    sample = table.filter(pl.col("sweep") == "sample") if table.height else table
    by_status = table.group_by("status").len().sort("status") if table.height else table
    return {"trials": table.height, "by_status": {k: int(v) for k, v in by_status.iter_rows()},
            "train_hours": float(table["train_s"].fill_null(0).sum() / 3600) if table.height else 0.0,
            "energy_j": float(table["energy_j"].fill_null(0).sum()) if table.height else 0.0,
            "energy_provenance": provenance, "per_search": searches,
            "full_budget_sample": {"trials": sample.height,
                                   "train_seconds": (float(sample["train_s"].fill_null(0).sum())
                                                     if sample.height else 0.0),
                                   "energy_j": float(sample["energy_j"].fill_null(0).sum()) if sample.height else 0.0},
            "method": "energy: the worker's meters (nvml/rapl, else the labelled estimate) over the training window of "
                      "every trial, stopped ones to their last evaluation; saving: measured vs projected (cost x "
                      "planned/run steps for stopped trials), per data set's own search"}
