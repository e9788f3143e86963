"""Analyses of a hyperparameter study's outcome table (one row per trial, see ``outcomes``):
seed vs hyperparameter variance, tunability, transfer between tasks, where training fails, and
what the search cost."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

FULL = ("completed", "diverged")  # trials that ran their whole budget (or failed): their objective is final


def _interval(values: list[float]) -> list[float] | None:
    v = [x for x in values if np.isfinite(x)]
    return [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] if v else None


def repeated_runs(table: pl.DataFrame) -> pl.DataFrame:
    """Full-budget task-A runs of the configurations re-run over seeds (the default and the best k),
    whatever sweep ran each seed (the best configurations' search-seed run is their search trial)."""
    tagged = table.filter(pl.col("sweep").str.split(",").list.set_intersection(["best_seeds", "default"]).list.len() > 0)
    if tagged.height == 0:
        return tagged
    task = table.filter(pl.col("sweep").str.contains("default|search"))["task"][0]
    rep = table.filter(pl.col("config_id").is_in(tagged["config_id"].unique().implode()) & (pl.col("task") == task)
                       & pl.col("status").is_in(FULL) & ~pl.col("sweep").str.contains("transfer"))
    role = pl.when(pl.col("config_id").is_in(table.filter(pl.col("sweep") == "default")["config_id"].unique().implode()))
    return rep.with_columns(role.then(pl.lit("default")).otherwise(pl.lit("best_seeds")).alias("role")).unique("trial_id")


def seed_variance(table: pl.DataFrame, *, n_boot: int = 500, seed: int = 0) -> dict[str, Any]:
    """Share of outcome variance from seeds: pooled within-configuration variance of the configurations
    re-run over seeds, over the variance of the search's outcomes (one seed each, full budget); the
    rest is attributed to hyperparameters (one-way random-effects decomposition, e.g. Bouthillier et
    al. 2021, "Accounting for variance in machine learning benchmarks"). Interval: bootstrap."""
    rep = repeated_runs(table)
    groups = [g["objective"].to_numpy() for _, g in rep.group_by("config_id", maintain_order=True) if g.height >= 2]
    search = table.filter((pl.col("sweep") == "search") & pl.col("status").is_in(FULL))["objective"].to_numpy()
    if not groups or len(search) < 3:
        return {"available": False, "reason": "needs >= 1 configuration over >= 2 seeds and >= 3 full search trials"}

    def share(gs, s) -> tuple[float, float, float]:
        within = float(np.mean([np.var(g, ddof=1) for g in gs]))
        total = float(np.var(s, ddof=1))
        return within, total, min(1.0, within / total) if total > 0 else float("nan")

    within, total, seed_share = share(groups, search)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        gs = [g[rng.integers(0, len(g), len(g))] for g in (groups[i] for i in rng.integers(0, len(groups), len(groups)))]
        boots.append(share(gs, search[rng.integers(0, len(search), len(search))])[2])
    per_config = (rep.group_by("config_id", "role").agg(pl.col("objective").mean().alias("mean"), pl.col("objective").std().alias("sd"),
                                                         pl.len().alias("seeds")).sort("mean", descending=True))
    return {"available": True, "seed_variance": within, "total_variance": total, "seed_share": seed_share,
            "hparam_share": 1 - seed_share if np.isfinite(seed_share) else None,
            "seed_share_interval95": _interval(boots), "configs_over_seeds": len(groups), "search_trials": int(len(search)),
            "per_config": per_config.to_dicts(),
            "method": "seed share = pooled within-config variance (configs re-run over seeds) / variance of full-budget search outcomes; "
                      f"95% interval: {n_boot} bootstrap resamples of configs, seeds and search trials"}


def tunability(table: pl.DataFrame, names: list[str], *, n_boot: int = 500, seed: int = 0) -> dict[str, Any]:
    """Tunability (Probst, Boulesteix & Bischl 2019, JMLR 20:53): best tuned minus default, overall
    (best of the top-k configurations by seed-mean) and per hyperparameter (best one-at-a-time
    change around the default, same seed as the default's search-seed run)."""
    rep = repeated_runs(table)
    if rep.height == 0:
        return {"available": False, "reason": "no finished default trials"}
    default, best = rep.filter(pl.col("role") == "default"), rep.filter(pl.col("role") == "best_seeds")
    if default.height == 0:
        return {"available": False, "reason": "no finished default trials"}
    d_vals = default["objective"].to_numpy()
    out: dict[str, Any] = {"available": True, "default": float(d_vals.mean()), "default_sd_over_seeds": float(d_vals.std(ddof=1)) if len(d_vals) > 1 else None,
                           "default_config": {n: default[n][0] for n in names}}
    if best.height:
        by_cfg = {c: g["objective"].to_numpy() for (c,), g in best.group_by("config_id")}
        means = {c: v.mean() for c, v in by_cfg.items()}
        top = max(means, key=means.get)
        rng = np.random.default_rng(seed)
        boots = [max(v[rng.integers(0, len(v), len(v))].mean() for v in by_cfg.values()) - d_vals[rng.integers(0, len(d_vals), len(d_vals))].mean()
                 for _ in range(n_boot)]
        row = best.filter(pl.col("config_id") == top).row(0, named=True)
        out.update({"tuned": float(means[top]), "tuned_config": {n: row[n] for n in names}, "gain": float(means[top] - d_vals.mean()),
                    "gain_interval95": _interval(boots),
                    "method": f"mean over seeds; 95% interval: {n_boot} bootstrap resamples of seeds (max over the top-k recomputed)"})
    oat = table.filter(pl.col("sweep").str.split(",").list.contains("oat") & pl.col("status").is_in(["completed", "diverged"]))
    ref = default.filter(pl.col("seed") == oat["seed"][0]) if oat.height else default
    ref_value = float(ref["objective"].mean()) if ref.height else float(d_vals.mean())
    per = {}
    for name in names:
        part = oat.filter(pl.col("varied") == name).sort(name)
        if part.height:
            i = int(part["objective"].arg_max())
            per[name] = {"gain": max(0.0, float(part["objective"][i]) - ref_value), "best_value": part[name][i],
                         "values": part[name].to_list(), "objectives": part["objective"].to_list(),
                         "diverged": (part["status"] == "diverged").to_list()}
    out["per_hparam"] = dict(sorted(per.items(), key=lambda kv: -kv[1]["gain"]))
    out["oat_reference"] = ref_value
    return out


def transfer(table: pl.DataFrame, *, n_boot: int = 500, seed: int = 0) -> dict[str, Any]:
    """Spearman rank correlation of the same configurations' outcomes on task A (search) and B
    (transfer), and the regret of using one task's best configuration on the other."""
    from scipy.stats import spearmanr

    a = table.filter(pl.col("sweep") == "search").select("config_id", pl.col("task").alias("task_a"), pl.col("objective").alias("a"),
                                                          pl.col("first_rung").alias("a_rung1"), pl.col("status").alias("a_status"))
    b = table.filter(pl.col("sweep") == "transfer").select("config_id", pl.col("task").alias("task_b"), pl.col("objective").alias("b"),
                                                            pl.col("first_rung").alias("b_rung1"), pl.col("status").alias("b_status"))
    both = a.join(b, on="config_id")
    if both.height < 3:
        return {"available": False, "reason": "needs the same configurations on two tasks (analysis.transfer, random search)"}
    full = both.filter(pl.col("a_status").is_in(FULL) & pl.col("b_status").is_in(FULL))
    rung = both.drop_nulls(["a_rung1", "b_rung1"])
    rng = np.random.default_rng(seed)

    def rho(frame, x, y) -> dict[str, Any]:
        if frame.height < 3:
            return {"rho": None, "n": frame.height}
        xs, ys = frame[x].to_numpy(), frame[y].to_numpy()
        boots = [spearmanr(xs[i], ys[i]).statistic for i in (rng.integers(0, len(xs), len(xs)) for _ in range(n_boot))]
        return {"rho": float(spearmanr(xs, ys).statistic), "interval95": _interval(boots), "n": frame.height}

    def regret(frm: str, to: str) -> dict[str, Any]:
        pool = both.filter(pl.col(f"{frm}_status").is_in(FULL))
        pick = pool.sort([frm, "config_id"], descending=[True, False]).row(0, named=True)
        best_to = both.filter(pl.col(f"{to}_status").is_in(FULL))[to].max()
        return {"config_id": pick["config_id"], "value_on_target": pick[to], "target_best": best_to,
                "regret": float(best_to - pick[to]) if best_to is not None else None,
                "target_status": pick[f"{to}_status"]}

    return {"available": True, "task_a": both["task_a"][0], "task_b": both["task_b"][0], "configs": both.height,
            "spearman_final": rho(full, "a", "b"), "spearman_first_rung": rho(rung, "a_rung1", "b_rung1"),
            "regret_a_to_b": regret("a", "b"), "regret_b_to_a": regret("b", "a"),
            "points": both.select("config_id", "a", "b", "a_status", "b_status").to_dicts(),
            "method": "Spearman over configurations run on both tasks (final: both ran the full budget; first rung: "
                      "val accuracy after the first epoch, every configuration); 95% interval: bootstrap over configurations"}


def failure_region(table: pl.DataFrame, names: list[str]) -> dict[str, Any]:
    """Where in the space training fails: the diverged share per bin (numeric: quartiles) or category."""
    pool = table.filter(pl.col("sweep").str.split(",").list.set_intersection(["search", "transfer", "oat"]).list.len() > 0)
    out = {"trials": pool.height, "diverged": int((pool["status"] == "diverged").sum()),
           "by_cause": {k: int(v) for k, v in pool.filter(pl.col("status") == "diverged").group_by("divergence").len().iter_rows()}}
    bins: dict[str, list] = {}
    for n in names:
        col = pool[n]
        if col.dtype.is_numeric() and col.n_unique() > 4:
            edges = np.quantile(col.to_numpy(), [0, 0.25, 0.5, 0.75, 1.0])
            labels = np.clip(np.searchsorted(edges, col.to_numpy(), side="right") - 1, 0, 3)
            part = pool.with_columns(pl.Series("bin", labels))
            keys = {i: f"[{edges[i]:.3g}, {edges[i + 1]:.3g}]" for i in range(4)}
        else:
            part = pool.with_columns(pl.col(n).cast(pl.String).alias("bin"))
            keys = None
        g = part.group_by("bin").agg(pl.len().alias("trials"), (pl.col("status") == "diverged").mean().alias("diverged_share")).sort("bin")
        bins[n] = [{"bin": keys[r["bin"]] if keys else r["bin"], "trials": r["trials"], "diverged_share": r["diverged_share"]} for r in g.iter_rows(named=True)]
    out["by_hparam"] = bins
    return out


def cost(table: pl.DataFrame) -> dict[str, Any]:
    """What the study cost, and what ASHA saved: a stopped trial's full cost is projected as its
    cost x planned steps / steps run (steps take equal time in steady state)."""
    scale = pl.when(pl.col("status") == "stopped_early").then(pl.col("steps_planned") / pl.col("steps")).otherwise(1.0)
    t = table.with_columns(scale.fill_null(1.0).alias("scale"))
    search = t.filter(pl.col("sweep").str.split(",").list.set_intersection(["search", "transfer"]).list.len() > 0)
    wall, full_wall = search["wall_s"].sum(), (search["wall_s"] * search["scale"]).sum()
    energy, full_energy = search["energy_j"].sum(), (search["energy_j"] * search["scale"]).sum()
    return {"trials": t.height, "by_status": {k: int(v) for k, v in t.group_by("status").len().sort("status").iter_rows()},
            "trial_hours": float(t["wall_s"].sum() / 3600), "train_hours": float(t["train_s"].fill_null(0).sum() / 3600),
            "energy_j": float(t["energy_j"].fill_null(0).sum()),
            "energy_provenance": "sum of the trials' 'energy' rows (nvml/rapl, else estimate; stopped trials: estimate)",
            "search_trials": search.height, "stopped_early": int((search["status"] == "stopped_early").sum()),
            "steps_saved_fraction": float(1 - search["steps"].sum() / (search["steps"] * search["scale"]).sum()) if search.height else None,
            "time_saved_fraction": float(1 - wall / full_wall) if full_wall else None,
            "energy_saved_fraction": float(1 - energy / full_energy) if full_energy else None}
