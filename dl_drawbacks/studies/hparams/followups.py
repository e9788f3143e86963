"""Which configurations are re-run, chosen on validation only, and the re-run trials themselves.

The same choices are made again by the analysis from the outcome table, so the driver and the
findings can never disagree on which configuration was "the tuned one". Every choice uses the
search seed's validation accuracy; every re-run uses the fresh seeds and is scored on the test split
(no winner's curse: the run a configuration was chosen on is never the run it is scored on).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ...spec.models import TrialSpec
from .options import HparamsOptions
from .outcomes import objectives
from .space import sobol_configs
from .trials import config_id, make_trial

FULL = ("completed", "diverged")  # ran the whole budget, or stopped being a model: the objective is final


def ranked_search(table: pl.DataFrame, sweep: str) -> pl.DataFrame:
    """One search's trials, best first: furthest rung reached (a diverged trial reached none), then
    validation accuracy there; ties broken by config id so the order never depends on scheduling."""
    search = table.filter(pl.col("sweep") == sweep)
    if search.height == 0:
        return search
    reached = pl.when(pl.col("status") == "diverged").then(0).otherwise(pl.col("evals").fill_null(0))
    return (search.with_columns(reached.alias("reached")).filter(pl.col("objective").is_not_null())
            .sort(["reached", "objective", "config_id"], descending=[True, True, False]))


def best_configs(table: pl.DataFrame, sweep: str, names: list[str], k: int) -> list[dict[str, Any]]:
    return [{n: row[n] for n in names} for row in ranked_search(table, sweep).head(k).iter_rows(named=True)]


def oat_choice(table: pl.DataFrame, name: str, names: list[str]) -> tuple[dict[str, Any] | None, str]:
    """The best value of ``name`` with every other hyperparameter at its default (validation, search
    seed), among its one-at-a-time values and the default itself; ties go to the default."""
    pool = table.filter((pl.col("sweep") == "oat") & pl.col("varied").is_in([name, "none"])
                        & pl.col("status").is_in(FULL) & pl.col("objective").is_not_null())
    if pool.filter(pl.col("varied") == name).height == 0:
        return None, f"no one-at-a-time trial of {name} ran its budget"
    best = pool.sort(["objective", pl.col("varied") == "none"], descending=[True, True]).row(0, named=True)
    return {n: best[n] for n in names}, "the default value was best on validation" if best["varied"] == "none" else ""


def trains(options: HparamsOptions) -> pl.Expr:
    """A run trains: it ran its budget and its validation accuracy covers ``trains_above_chance`` of the distance
    from chance (the majority class share of validation) to 1."""
    bar = pl.col("chance") + options.trains_above_chance * (1 - pl.col("chance"))
    return pl.col("status").is_in(FULL) & (pl.col("objective") >= bar).fill_null(False)


def variance_configs(table: pl.DataFrame, options: HparamsOptions) -> list[dict[str, Any]]:
    """The variance design: the first ``variance_configs`` configurations of the full-budget Sobol sample (in
    sequence order) whose search-seed run trains."""
    names = list(options.search_space)
    sample = table.filter((pl.col("sweep") == "sample") & trains(options)) if table.height else table
    training = set(sample["config_id"]) if sample.height else set()
    order = sobol_configs(options.search_space, options.full_budget_configs, seed=options.sample_seed)
    chosen = [c for c in order if config_id({n: c[n] for n in names}) in training]
    unique = list({config_id(c): c for c in chosen}.values())
    return unique[: options.variance_configs]


def followup_trials(base: TrialSpec, options: HparamsOptions, run_dir) -> list[TrialSpec]:
    """The re-runs chosen from the finished trials of a run folder (driver side)."""
    return followups_from_table(base, options, objectives(run_dir, base.study, explode_factor=options.explode_factor))


def followups_from_table(base: TrialSpec, options: HparamsOptions, table: pl.DataFrame) -> list[TrialSpec]:
    """Re-runs over the fresh seeds: the best k of task A's search (``best_seeds``), each hyperparameter's
    best one-at-a-time value (``oat_best``; the default's own re-runs serve when the default was best),
    for transfer each task's best on the other and on itself (``transfer_seeds``), and the first configurations of the
    full-budget sample that train (``variance``). ``base``: any
    trial on task A (every hyperparameter is set from the chosen configuration)."""
    if table.height == 0:
        return []
    names, seeds = list(options.search_space), options.seeds
    out = [make_trial(base, c, sweep="best_seeds", seed=s)
           for c in best_configs(table, "search", names, options.top_k) for s in seeds]
    reference = table.filter((pl.col("sweep") == "oat") & (pl.col("varied") == "none"))
    default = {n: reference[n][0] for n in names} if reference.height else None
    for name in names:
        config, _ = oat_choice(table, name, names)
        if config is not None and config != default:
            out += [make_trial(base, config, sweep="oat_best", seed=s, extra={"varied": name}) for s in seeds]
    if options.transfer is not None:
        best_a = best_configs(table, "search", names, 1)
        best_b = best_configs(table, "transfer", names, 1)
        for config, data in [*((c, options.transfer) for c in best_a + best_b), *((c, None) for c in best_b)]:
            out += [make_trial(base, config, sweep="transfer_seeds", seed=s, data=data) for s in seeds]
    out += [make_trial(base, c, sweep="variance", seed=s) for c in variance_configs(table, options) for s in seeds]
    unique: dict[str, TrialSpec] = {}
    for t in out:
        unique.setdefault(t.trial_id, t)
    return list(unique.values())
