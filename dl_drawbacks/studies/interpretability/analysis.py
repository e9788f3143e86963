"""Analysis of the interpretability study's rows: per method and per setting (model size, training
length), with t intervals over seeds; sanity per randomised layer; agreement; planted-feature reliance;
the accuracy price of interpretable models."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from ...aggregate import with_factor_columns

PER_METHOD = ("deletion_auc", "insertion_auc", "localisation_share", "localisation_lift",
              "explain_seconds_per_sample", "explain_peak_memory_increase")
SETTING = ("family", "size", "steps", "epochs", "n_train")


def interval(values: Any, confidence: float = 0.95) -> dict[str, Any]:
    """Mean and Student-t interval mean ± t·s/√n over independent runs (seeds); n < 2 gives no interval."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], float)
    if len(v) == 0:
        return {"mean": None, "interval": None, "n": 0}
    if len(v) < 2:
        return {"mean": float(v.mean()), "interval": None, "n": 1}
    half = stats.t.ppf(0.5 + confidence / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    return {"mean": float(v.mean()), "interval": [float(v.mean() - half), float(v.mean() + half)], "n": int(len(v))}


def trial_frame(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per trial: setting columns, parameters, final test accuracy."""
    params = rows.filter(pl.col("metric") == "parameters").group_by("trial_id").agg(pl.col("value").first().alias("parameters"))
    acc = rows.filter((pl.col("metric") == "accuracy") & pl.col("step").is_not_null()).sort("step").group_by("trial_id", "split").agg(
        pl.col("value").last()).pivot(on="split", index="trial_id", values="value")
    acc = acc.rename({c: f"network_accuracy_{c}" for c in acc.columns if c != "trial_id"})
    base = rows.select("trial_id", "seed", "factors").unique("trial_id")
    table = base.join(params, on="trial_id", how="left").join(acc, on="trial_id", how="left")
    table = with_factor_columns(table)
    for col in SETTING:
        if col not in table.columns:
            table = table.with_columns(pl.lit(None).alias(col))
    return table.with_columns(pl.concat_str([pl.lit(f"{c}=") + pl.col(c).cast(pl.String).fill_null("-") for c in ("size", "steps", "epochs", "n_train")],
                                            separator=" ").alias("setting"))


def method_frame(rows: pl.DataFrame) -> pl.DataFrame:
    """Long frame (trial_id, method, metric, value) of per-method scalars, with derived gains and final sanity."""
    ex = rows.filter(pl.col("split") == "test_explain")
    scal = ex.filter(pl.col("metric").is_in(PER_METHOD) & pl.col("step").is_null()).select(
        "trial_id", pl.col("group").alias("method"), "metric", "value")
    rnd = scal.filter(pl.col("method") == "random").select("trial_id", "metric", pl.col("value").alias("random"))
    gains = scal.filter(pl.col("metric").is_in(["deletion_auc", "insertion_auc"]) & (pl.col("method") != "random")).join(
        rnd, on=["trial_id", "metric"]).select(
        "trial_id", "method",
        pl.when(pl.col("metric") == "deletion_auc").then(pl.lit("deletion_gain")).otherwise(pl.lit("insertion_gain")).alias("metric"),
        pl.when(pl.col("metric") == "deletion_auc").then(pl.col("random") - pl.col("value")).otherwise(pl.col("value") - pl.col("random")).alias("value"))
    san = ex.filter(pl.col("metric").is_in(["sanity_spearman", "sanity_ssim"]))
    final = san.filter(pl.col("step") == pl.col("step").max().over("trial_id", "group", "metric")).select(
        "trial_id", pl.col("group").alias("method"), (pl.col("metric") + "_final").alias("metric"), "value")
    return pl.concat([scal, gains, final], how="vertical")


def _summaries(long: pl.DataFrame, keys: list[str], confidence: float) -> list[dict[str, Any]]:
    out = []
    for key, part in long.group_by(keys, maintain_order=True):
        out.append({**dict(zip(keys, key)), **interval(part["value"].to_list(), confidence)})
    return out


def _by_setting(trials: pl.DataFrame, methods: pl.DataFrame, confidence: float) -> list[dict[str, Any]]:
    long = methods.join(trials.select("trial_id", "setting", "size", "steps", "epochs", "parameters"), on="trial_id")
    out = []
    for (setting, method, metric), part in long.group_by("setting", "method", "metric", maintain_order=True):
        out.append({"setting": setting, "size": part["size"][0], "steps": part["steps"][0], "epochs": part["epochs"][0],
                    "parameters": float(part["parameters"].median()), "method": method, "metric": metric,
                    **interval(part["value"].to_list(), confidence)})
    return sorted(out, key=lambda r: (r["method"], r["metric"], r["parameters"], r["steps"] or 0, r["epochs"] or 0))


def _sanity_by_depth(rows: pl.DataFrame, confidence: float) -> dict[str, list[dict[str, Any]]]:
    san = rows.filter(pl.col("metric").is_in(["sanity_spearman", "sanity_ssim"]))
    out: dict[str, list] = {}
    for (method, depth), part in san.group_by("group", "step", maintain_order=True):
        entry = {"depth": int(depth)}
        for metric in ("sanity_spearman", "sanity_ssim"):
            entry[metric.removeprefix("sanity_")] = interval(part.filter(pl.col("metric") == metric)["value"].to_list(), confidence)
        out.setdefault(method, []).append(entry)
    return {m: sorted(v, key=lambda e: e["depth"]) for m, v in sorted(out.items())}


def _planted(rows: pl.DataFrame, trials: pl.DataFrame, confidence: float) -> dict[str, Any] | None:
    if "network_accuracy_test_planted" not in trials.columns:
        return None
    t = trials.filter(pl.col("network_accuracy_test_planted").is_not_null()).with_columns(
        (pl.col("network_accuracy_test_planted") - pl.col("network_accuracy_test_patch_random")).alias("reliance_drop"))
    by = []
    for setting, part in t.group_by("setting", maintain_order=True):
        by.append({"setting": setting[0], "parameters": float(part["parameters"].median()),
                   **{k: interval(part[c].to_list(), confidence) for k, c in (
                       ("accuracy_clean", "network_accuracy_test"), ("accuracy_true_patch", "network_accuracy_test_planted"),
                       ("accuracy_random_patch", "network_accuracy_test_patch_random"), ("reliance_drop", "reliance_drop"))}})
    area = rows.filter(pl.col("metric") == "patch_area_share")["value"]
    return {"patch_area_share": float(area[0]) if area.len() else None, "reliance_drop_all": interval(t["reliance_drop"].to_list(), confidence),
            "by_setting": sorted(by, key=lambda r: r["parameters"])}


def _price(rows: pl.DataFrame, trials: pl.DataFrame, confidence: float) -> list[dict[str, Any]]:
    interp = rows.filter((pl.col("metric") == "interpretable_accuracy") & (pl.col("split") == "test")).select(
        "trial_id", pl.col("group").alias("model"), pl.col("value").alias("interpretable"))
    t = interp.join(trials.select("trial_id", "setting", "parameters", "network_accuracy_test"), on="trial_id").with_columns(
        (pl.col("network_accuracy_test") - pl.col("interpretable")).alias("gap"))
    out = []
    for (setting, model), part in t.group_by("setting", "model", maintain_order=True):
        out.append({"setting": setting, "model": model, "parameters": float(part["parameters"].median()),
                    "network_accuracy": interval(part["network_accuracy_test"].to_list(), confidence),
                    "interpretable_accuracy": interval(part["interpretable"].to_list(), confidence),
                    "gap": interval(part["gap"].to_list(), confidence)})
    return sorted(out, key=lambda r: (r["model"], r["parameters"], r["setting"]))


def analyze_rows(rows: pl.DataFrame, options: Any) -> dict[str, Any]:
    c = options.confidence
    trials = trial_frame(rows)
    methods = method_frame(rows)
    overall = {}
    for r in _summaries(methods, ["method", "metric"], c):
        overall.setdefault(r.pop("method"), {})[r.pop("metric")] = r
    sanity = _sanity_by_depth(rows, c)
    for method, entry in overall.items():
        final = entry.get("sanity_spearman_final", {}).get("mean")
        entry["sanity_passed"] = None if final is None else bool(final <= options.sanity_threshold)
    agree = rows.filter(pl.col("metric") == "agreement_spearman").select("trial_id", pl.col("group").alias("pair"), "value")
    return {
        "trials": trials.height,
        "interval_method": f"mean ± t({c}, n−1)·s/√n over the trials of a setting (seeds); pooled rows pool every trial",
        "sanity_threshold": options.sanity_threshold,
        "methods": {k: overall[k] for k in sorted(overall) if k != "random"},
        "random_order": overall.get("random", {}),
        "by_setting": _by_setting(trials, methods, c),
        "sanity_by_depth": sanity,
        "agreement": _summaries(agree.sort("pair"), ["pair"], c),
        "planted": _planted(rows, trials, c),
        "price_of_interpretability": _price(rows, trials, c),
        "table": trials.drop("factors").to_dicts(),
    }
