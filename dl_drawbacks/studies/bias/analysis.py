"""Findings of the bias study from its rows: headline metrics with intervals and verdicts, the
representation sweep, the mitigation comparison and the accuracy–fairness frontier."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import polars as pl

from .metrics import FAIRNESS_METRICS, GROUP_METRICS, seed_interval

# Common thresholds: four-fifths rule (EEOC 1978, 29 CFR 1607.4(D)) for disparate impact, and
# |difference| <= 0.1 for the parity differences (the fair band of aif360's tutorials and AI Fairness 360 paper).
THRESHOLDS = {"disparate_impact": (0.8, 1.25), "statistical_parity_difference": (-0.1, 0.1),
              "equal_opportunity_difference": (-0.1, 0.1), "average_odds_difference": (-0.1, 0.1)}
POINT_METRICS = (*FAIRNESS_METRICS, *(f"group_{m}" for m in GROUP_METRICS))


def _label(value: Any) -> str:
    """'sex' or 'sex×race' from a protected factor (a name or a JSON list)."""
    if isinstance(value, str) and value.startswith("["):
        value = json.loads(value)
    return "×".join(value) if isinstance(value, list) else str(value)


def distance(metric: str, value: float) -> float:
    """How far from parity: |1 − DI| for disparate impact, |v| for differences, v for the Theil index."""
    return abs(1 - value) if metric == "disparate_impact" else abs(value)


def verdict(metric: str, mean: float, low: float, high: float, n_undefined: int, n: int, reason: str | None) -> str:
    """A plain-language sentence: inside/outside the common threshold, clear or borderline."""
    if not math.isfinite(mean):
        return f"undefined in {n_undefined} of {n} trials ({reason})"
    note = f" ({n_undefined} of {n} trials undefined: {reason})" if n_undefined else ""
    if metric not in THRESHOLDS:
        return f"{mean:.3g}: no common threshold (0 = every individual benefits equally){note}"
    lo_t, hi_t = THRESHOLDS[metric]
    inside = lo_t <= mean <= hi_t
    sure = math.isfinite(low) and (lo_t <= low and high <= hi_t if inside else high < lo_t or low > hi_t)
    rule = "the four-fifths rule (0.8–1.25)" if metric == "disparate_impact" else "|value| ≤ 0.1"
    side = "" if inside else (" — the unprivileged group is disadvantaged" if mean < lo_t else " — the privileged group is disadvantaged")
    word = ("passes" if inside else "fails") + ("" if sure else " (borderline: the 95% interval crosses the threshold)")
    return f"{word} {rule}{side}{note}"


def trial_frame(rows: pl.DataFrame) -> pl.DataFrame:
    """Final (step-less) test metrics of each trial with its factor columns and bootstrap bounds."""
    from ...aggregate import with_factor_columns

    base = rows.filter(pl.col("step").is_null() & (pl.col("split") == "test"))
    point = base.filter(pl.col("metric").is_in(POINT_METRICS)).select(
        "trial_id", "seed", "factors", "metric", "group", "value", "provenance")
    bounds = base.filter(pl.col("metric").str.ends_with("_boot_low") | pl.col("metric").str.ends_with("_boot_high"))
    bounds = bounds.with_columns(pl.col("metric").str.replace(r"_boot_(low|high)$", ""),
                                 pl.col("metric").str.extract(r"_boot_(low|high)$").alias("bound"))
    wide = bounds.pivot(on="bound", index=["trial_id", "metric", "group"], values="value", aggregate_function="first")
    for col in ("low", "high"):
        if col not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Float64).alias(col))
    table = point.join(wide.select("trial_id", "metric", "group", pl.col("low").alias("boot_low"),
                                   pl.col("high").alias("boot_high")), on=["trial_id", "metric", "group"], how="left")
    table = with_factor_columns(table)
    return table.with_columns(pl.col("protected").map_elements(_label, return_dtype=pl.String),
                              pl.col("unprivileged_share").cast(pl.Float64))


def summarise(table: pl.DataFrame, keys: list[str]) -> list[dict[str, Any]]:
    """Per setting × metric × group: mean over seeds, t 95% interval, undefined count, mean bootstrap bounds."""
    out = []
    for key, part in table.group_by([*keys, "metric", "group"], maintain_order=True):
        values = part["value"].to_list()
        mean, low, high, n_ok = seed_interval(values)
        undefined = part.filter(pl.col("provenance").str.starts_with("undefined:"))["provenance"].to_list()
        record = dict(zip([*keys, "metric", "group"], key))
        record.update(mean=mean, interval95=[low, high], n_seeds=part.height, n_defined=n_ok,
                      n_undefined=len(undefined), undefined_reason=undefined[0].removeprefix("undefined:") if undefined else None,
                      bootstrap95=[_mean(part["boot_low"]), _mean(part["boot_high"])])
        out.append(record)
    return out


def _mean(series: pl.Series) -> float:
    v = series.drop_nulls().to_numpy()
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


class BiasAnalysis:
    """fit(rows) → findings_: headline, representation, mitigation and frontier (scikit-learn contract)."""

    def __init__(self, *, primary_metric: str = "average_odds_difference") -> None:
        self.primary_metric = primary_metric

    def fit(self, rows: pl.DataFrame) -> "BiasAnalysis":
        from .sweeps import frontier, mitigation_comparison, representation_sweep

        table = trial_frame(rows)
        self.table_ = table
        settings = summarise(table, ["protected", "unprivileged_share", "mitigation"])
        self.findings_ = {
            "trials": table["trial_id"].n_unique(),
            "seeds": sorted(table["seed"].unique().to_list()),
            "datasets": sorted(table["dataset"].unique().to_list()),
            "primary_metric": self.primary_metric,
            "thresholds": {k: list(v) for k, v in THRESHOLDS.items()},
            "interval_method": ("over seeds: mean and Student-t 95% interval; bootstrap: per-trial percentile 95% "
                                "interval over test samples, bounds averaged over seeds"),
            "headline": self._headline(settings),
            "representation": representation_sweep(table, settings),
            "mitigation": mitigation_comparison(table, settings, self.primary_metric),
            "frontier": frontier(settings, self.primary_metric),
            "settings": settings,
        }
        return self

    @staticmethod
    def _headline(settings: list[dict[str, Any]]) -> dict[str, Any]:
        """Per protected attribute: the unmitigated model at the data's own composition (or the largest share)."""
        out = {}
        for protected in dict.fromkeys(s["protected"] for s in settings):
            base = [s for s in settings if s["protected"] == protected and s["mitigation"] == "none"]
            if not base:
                continue
            natural = [s for s in base if s["unprivileged_share"] is None or math.isnan(s["unprivileged_share"])]
            chosen = natural or [s for s in base if s["unprivileged_share"] == max(b["unprivileged_share"] for b in base)]
            metrics = {}
            for s in chosen:
                if s["group"] == "" and s["metric"] in FAIRNESS_METRICS:
                    metrics[s["metric"]] = {k: s[k] for k in ("mean", "interval95", "bootstrap95", "n_seeds", "n_undefined", "undefined_reason")}
                    metrics[s["metric"]]["verdict"] = verdict(s["metric"], s["mean"], *s["interval95"], s["n_undefined"],
                                                             s["n_seeds"], s["undefined_reason"])
            groups = [{k: s[k] for k in ("metric", "group", "mean", "interval95", "bootstrap95", "n_undefined", "undefined_reason")}
                      for s in chosen if s["group"]]
            out[protected] = {"setting": {"mitigation": "none", "unprivileged_share": chosen[0]["unprivileged_share"]},
                              "metrics": metrics, "groups": groups}
        return out
