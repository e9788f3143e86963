"""The bias study's sweeps: group gaps against representation, mitigations against no mitigation,
and the accuracy–fairness frontier (all from the per-setting summaries and per-trial values)."""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from .metrics import FAIRNESS_METRICS, seed_interval
from .analysis import THRESHOLDS, distance


def _is_natural(share: Any) -> bool:
    return share is None or (isinstance(share, float) and math.isnan(share))


def cells(protected: str) -> tuple[str, str]:
    """(privileged, unprivileged) group labels of a protected setting, e.g. ('sex=1', 'sex=0')."""
    attrs = protected.split("×")
    return ",".join(f"{a}=1" for a in attrs), ",".join(f"{a}=0" for a in attrs)


def _pick(settings: list[dict], **where: Any) -> dict[str, Any] | None:
    return next((s for s in settings if all(s[k] == v for k, v in where.items())), None)


def per_trial(table: pl.DataFrame, metric: str, group: str) -> pl.DataFrame:
    return table.filter((pl.col("metric") == metric) & (pl.col("group") == group)).select(
        "trial_id", "seed", "protected", "unprivileged_share", "mitigation", "value")


def accuracy_gaps(table: pl.DataFrame) -> pl.DataFrame:
    """Per trial: accuracy of the privileged minus the unprivileged group."""
    frames = []
    for protected in table["protected"].unique().to_list():
        priv, unpriv = cells(protected)
        sub = table.filter(pl.col("protected") == protected)
        p = per_trial(sub, "group_accuracy", priv).rename({"value": "priv"})
        u = per_trial(sub, "group_accuracy", unpriv).select("trial_id", pl.col("value").alias("unpriv"))
        frames.append(p.join(u, on="trial_id").with_columns((pl.col("priv") - pl.col("unpriv")).alias("gap")))
    return pl.concat(frames) if frames else pl.DataFrame()


def representation_sweep(table: pl.DataFrame, settings: list[dict]) -> dict[str, Any]:
    """Per protected setting, unmitigated: metrics and the accuracy gap against the unprivileged share."""
    gaps = accuracy_gaps(table)
    out = {}
    for protected in dict.fromkeys(s["protected"] for s in settings):
        shares = sorted({s["unprivileged_share"] for s in settings if s["protected"] == protected
                         and s["mitigation"] == "none" and not _is_natural(s["unprivileged_share"])})
        if len(shares) < 2:
            continue
        priv, unpriv = cells(protected)
        points = []
        for share in shares:
            g = gaps.filter((pl.col("protected") == protected) & (pl.col("mitigation") == "none") & (pl.col("unprivileged_share") == share))
            mean, low, high, n = seed_interval(g["gap"].to_list())
            point = {"unprivileged_share": share, "accuracy_gap": {"mean": mean, "interval95": [low, high], "n_seeds": n}}
            for metric, group in [*((m, "") for m in FAIRNESS_METRICS), ("group_accuracy", priv), ("group_accuracy", unpriv)]:
                s = _pick(settings, protected=protected, mitigation="none", unprivileged_share=share, metric=metric, group=group)
                if s:
                    point[metric if not group else f"accuracy[{group}]"] = {k: s[k] for k in ("mean", "interval95", "bootstrap95", "n_undefined")}
            points.append(point)
        out[protected] = {"privileged_group": priv, "unprivileged_group": unpriv, "points": points,
                          **_closes(points)}
    return out


def _closes(points: list[dict]) -> dict[str, Any]:
    """Smallest share where the accuracy gap's 95% interval contains 0, and where each metric is within its threshold."""
    def contains_zero(p):
        lo, hi = p["accuracy_gap"]["interval95"]
        return math.isfinite(lo) and lo <= 0 <= hi

    closed = [p["unprivileged_share"] for p in points if contains_zero(p)]
    within = {}
    for metric, (lo_t, hi_t) in THRESHOLDS.items():
        ok = [p["unprivileged_share"] for p in points if metric in p and lo_t <= p[metric]["mean"] <= hi_t]
        within[metric] = min(ok) if ok else None
    first, last = points[0]["accuracy_gap"]["mean"], points[-1]["accuracy_gap"]["mean"]
    return {"accuracy_gap_closes_at": min(closed) if closed else None,
            "accuracy_gap_closed_everywhere": len(closed) == len(points),
            "accuracy_gap_change": last - first,
            "within_threshold_from_share": within}


def mitigation_comparison(table: pl.DataFrame, settings: list[dict], primary: str) -> dict[str, Any]:
    """Per protected setting and share: each mitigation's accuracy, paired accuracy cost and fairness, and the best one."""
    out = {}
    for protected, share in dict.fromkeys((s["protected"], s["unprivileged_share"]) for s in settings):
        same = [s for s in settings if s["protected"] == protected and s["unprivileged_share"] == share]
        methods = list(dict.fromkeys(s["mitigation"] for s in same))
        if "none" not in methods or len(methods) < 2:
            continue
        acc = per_trial(table.filter(pl.col("protected") == protected), "group_accuracy", "all")
        acc = acc.filter(pl.col("unprivileged_share").is_null() if _is_natural(share) else pl.col("unprivileged_share") == share)
        none = acc.filter(pl.col("mitigation") == "none").select("seed", pl.col("value").alias("base"))
        rows = []
        for method in methods:
            a = _pick(same, mitigation=method, metric="group_accuracy", group="all")
            paired = acc.filter(pl.col("mitigation") == method).join(none, on="seed")
            c_mean, c_lo, c_hi, _ = seed_interval((paired["base"] - paired["value"]).to_list())
            metrics = {m: {k: s[k] for k in ("mean", "interval95", "n_undefined")}
                       for m in FAIRNESS_METRICS if (s := _pick(same, mitigation=method, metric=m, group=""))}
            rows.append({"mitigation": method, "accuracy": {"mean": a["mean"], "interval95": a["interval95"]},
                         "accuracy_cost": {"mean": c_mean, "interval95": [c_lo, c_hi]}, "metrics": metrics,
                         f"{primary}_distance": distance(primary, metrics[primary]["mean"]) if primary in metrics else None})
        key = f"{protected} @ {'natural share' if _is_natural(share) else f'share {share}'}"
        out[key] = {"protected": protected, "unprivileged_share": None if _is_natural(share) else share,
                    "table": rows, **_best(rows, primary)}
    return out


def _best(rows: list[dict], primary: str) -> dict[str, Any]:
    d = f"{primary}_distance"
    base = next(r for r in rows if r["mitigation"] == "none")
    ranked = sorted((r for r in rows if r["mitigation"] != "none" and r[d] is not None and math.isfinite(r[d])), key=lambda r: r[d])
    if not ranked or base[d] is None or not ranked[0][d] < base[d]:
        return {"best": None, "best_reason": f"no mitigation moved {primary} closer to parity than no mitigation"}
    b = ranked[0]
    return {"best": b["mitigation"], "best_accuracy_cost": b["accuracy_cost"],
            "best_reason": f"{primary} distance from parity {base[d]:.3g} → {b[d]:.3g}"}


def frontier(settings: list[dict], primary: str) -> dict[str, list[dict]]:
    """Per protected setting: accuracy and |primary metric| of every setting, Pareto-optimal ones flagged."""
    out = {}
    for protected in dict.fromkeys(s["protected"] for s in settings):
        pts = []
        for s in settings:
            if s["protected"] == protected and s["metric"] == "group_accuracy" and s["group"] == "all":
                f = _pick(settings, protected=protected, unprivileged_share=s["unprivileged_share"], mitigation=s["mitigation"], metric=primary, group="")
                if f and math.isfinite(f["mean"]):
                    pts.append({"mitigation": s["mitigation"], "unprivileged_share": None if _is_natural(s["unprivileged_share"]) else s["unprivileged_share"],
                                "accuracy": s["mean"], "accuracy_interval95": s["interval95"], primary: f["mean"],
                                "distance": distance(primary, f["mean"])})
        for p in pts:
            p["pareto"] = not any(q is not p and q["accuracy"] >= p["accuracy"] and q["distance"] <= p["distance"]
                                  and (q["accuracy"] > p["accuracy"] or q["distance"] < p["distance"]) for q in pts)
        out[protected] = pts
    return out
