"""Tunability: how much tuning buys over the default, overall and per hyperparameter.

How the reference does it: Probst, Boulesteix & Bischl 2019 ("Tunability: importance of
hyperparameters of machine learning algorithms", JMLR 20(53)) define the tunability of an algorithm
on a data set as R(best configuration) - R(default), and of hyperparameter i as R(best with only i
tuned, the others at their defaults) - R(default); they estimate R with surrogate models over 38 data
sets. Here R is measured on one data set, without a winner's curse: each configuration is chosen on
validation (the search seed's run), then it and the default are re-run on the fresh seeds and scored
on the test split, which nothing was chosen on. The gain is the paired per-seed difference, with a
Student-t interval over seeds; a negative gain (the validation choice did not carry to test) is
reported as it is, never clipped at 0.

The search must at least match the best single-hyperparameter tuning: every configuration tuning one
hyperparameter alone is a point of the space, so when one of them beats the search's choice on test (paired
over the same seeds against the same default), the search gain measures a weak search, not the tunability; the
finding then says so (``search_too_weak``) and the best single-hyperparameter gain is a lower bound on tunability.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ...statistics import UNIT, bounded, t_interval
from .followups import FULL, best_configs, oat_choice
from .trials import config_id


def fresh_runs(table: pl.DataFrame, cid: str, task: str, seeds: list[int]) -> pl.DataFrame:
    """Full-budget runs of one configuration on one task with the fresh seeds, whatever their role."""
    return table.filter((pl.col("config_id") == cid) & (pl.col("task") == task) & pl.col("seed").is_in(seeds)
                        & pl.col("status").is_in(FULL) & ~pl.col("sweep").is_in(["search", "transfer"]))


def test_score(runs: pl.DataFrame) -> pl.Series:
    """Test accuracy per run; a diverged run scores chance."""
    return runs.select(pl.when(pl.col("status") == "diverged").then(pl.col("chance"))
                       .otherwise(pl.col("test_accuracy")).alias("score"))["score"]


def paired_gain(table: pl.DataFrame, cid: str, reference: str, task: str, seeds: list[int]) -> dict[str, Any]:
    """Mean over seeds of test(cid) - test(reference), paired by seed, with its t interval."""
    a, b = fresh_runs(table, cid, task, seeds), fresh_runs(table, reference, task, seeds)
    # one run per seed: the same configuration can be re-run in two roles (best_seeds and transfer_seeds) on a task
    a = a.with_columns(test_score(a).alias("score")).sort("trial_id")
    a = a.unique("seed", keep="first").select("seed", "score")
    b = (b.with_columns(test_score(b).alias("score")).sort("trial_id").unique("seed", keep="first")
         .select("seed", pl.col("score").alias("reference")))
    both = a.join(b, on="seed").drop_nulls()
    if both.height == 0:
        return {"available": False, "reason": "not measurable: no fresh seed has finished runs of both configurations"}
    diff = (both["score"] - both["reference"]).to_numpy()
    iv = t_interval(diff, domain=bounded(-1, 1), over="seeds (paired)")
    return {"available": True, "gain": float(diff.mean()), "interval": iv.to_dict(), "seeds": both.height,
            "tuned_test": float(both["score"].mean()), "reference_test": float(both["reference"].mean())}


def tunability(table: pl.DataFrame, names: list[str], seeds: list[int], *, top_k: int) -> dict[str, Any]:
    default_rows = table.filter(pl.col("sweep") == "default")
    if default_rows.height == 0:
        return {"available": False, "reason": "not measurable: no finished default trial"}
    task, default = default_rows["task"][0], {n: default_rows[n][0] for n in names}
    d_id = default_rows["config_id"][0]
    d_test = test_score(fresh_runs(table, d_id, task, seeds)).drop_nulls().to_numpy()
    out: dict[str, Any] = {"available": True, "task": task, "default_config": default,
                           "default_test": t_interval(d_test, domain=UNIT, over="seeds").to_dict(),
                           "scored_on": "test split, fresh seeds (chosen on validation of the search seed's runs)"}
    candidates = [c for c in best_configs(table, "search", names, top_k)
                  if fresh_runs(table, config_id(c), task, seeds).height]
    if not candidates:
        out["overall"] = {"available": False,
                          "reason": "not measurable: no re-run of a chosen search configuration finished"}
    else:  # among the top k, the one with the best validation mean over its fresh seeds; scored on test
        val = {config_id(c): float(fresh_runs(table, config_id(c), task, seeds)["objective"].mean())
               for c in candidates}
        tuned = max(candidates, key=lambda c: val[config_id(c)])
        search_val = table.filter((pl.col("sweep") == "search")
                                  & (pl.col("config_id") == config_id(tuned)))["objective"]
        out["overall"] = {**paired_gain(table, config_id(tuned), d_id, task, seeds), "tuned_config": tuned,
                          "selection_run_val": float(search_val[0]) if search_val.len() else None,
                          "chosen_among": len(candidates)}
    per: dict[str, Any] = {}
    for name in names:
        config, note = oat_choice(table, name, names)
        if config is None:
            per[name] = {"available": False, "reason": f"not measurable: {note}"}
        elif config_id(config) == d_id:
            per[name] = {"available": True, "gain": 0.0, "interval": None, "best_value": config[name], "note": note}
        else:
            per[name] = {**paired_gain(table, config_id(config), d_id, task, seeds), "best_value": config[name],
                         "note": note}
    out["per_hparam"] = dict(sorted(per.items(), key=lambda kv: -np.nan_to_num(kv[1].get("gain", np.nan), nan=-np.inf)))
    out["search_check"] = search_check(out["overall"], out["per_hparam"])
    return out


def search_check(overall: dict[str, Any], per_hparam: dict[str, Any]) -> dict[str, Any]:
    """Does the search's choice at least match tuning the best single hyperparameter alone (test gain over the
    default, same seeds)? If not, the search is too weak to measure tunability."""
    singles = {n: v["gain"] for n, v in per_hparam.items() if v.get("available")}
    if not overall.get("available") or not singles:
        return {"available": False, "reason": "not measurable: the search or every single-hyperparameter tuning "
                                              "lacks a fresh-seed score"}
    best = max(singles, key=lambda n: singles[n])
    weak = singles[best] > overall["gain"]
    return {"available": True, "best_single": best, "best_single_gain": singles[best], "search_gain": overall["gain"],
            "search_too_weak": weak,
            "verdict": (f"the search is too weak: tuning {best} alone buys {singles[best]:+.3g} test accuracy, more "
                        f"than the search's choice ({overall['gain']:+.3g}); "
                        f"tunability is at least {singles[best]:.3g}, "
                        "not measured by this search") if weak else
                       (f"the search at least matches the best single-hyperparameter tuning ({best}: "
                        f"{singles[best]:+.3g} vs {overall['gain']:+.3g})")}
