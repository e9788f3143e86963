"""The bias study's comparisons: group gaps against representation, every mitigation against none (paired
by seed and test sample), the accuracy–fairness frontier with intervals on both axes, and the proxy
ablation (drop the named proxy columns, re-measure the gap they carried). Intervals: ``settings.entry``."""

from __future__ import annotations

from typing import Any

from . import sample_stats as st
from .settings import (
    DIFFERENCE, DISTANCE, METRIC_DOMAIN, PREJUDICE, RATE, Setting, entry, is_natural, paired
)
from ...statistics import POSITIVE, REAL
from .verdicts import THRESHOLDS, distance, equivalence, verdict

PARITY = (
    "disparate_impact",
    "statistical_parity_difference",
    "equal_opportunity_difference",
    "average_odds_difference",
)


def _same(settings: dict[tuple, Setting], s: Setting, **change: Any) -> Setting | None:
    key = dict(zip(("protected", "unprivileged_share", "mitigation", "drop_features"), s.key), **change)
    return next(
        (
            v
            for k, v in settings.items()
            if k[0] == key["protected"]
            and k[2] == key["mitigation"]
            and k[3] == key["drop_features"]
            and (k[1] == key["unprivileged_share"] or (is_natural(k[1]) and is_natural(key["unprivileged_share"])))
        ),
        None,
    )


def _distance_stat(metric: str, groups) -> Any:
    fair = st.fairness(metric, groups)
    return lambda a: distance(metric, fair(a))


EQUALIZED_ODDS = (
    "equalized odds (Hardt et al. 2016): TPR and FPR equal across groups. Closed when both gaps' 95% intervals lie "
    "within ±tolerance (an intersection-union test of the two equivalence tests). Label-conditional, so the groups' "
    "base rates do not put it out of reach, as they put an accuracy gap (accuracy mixes the two error rates in "
    "each group's own label proportions)"
)


def _gap_closure(tpr: dict[str, Any], fpr: dict[str, Any]) -> dict[str, str]:
    """closed only when both TPR and FPR gaps are closed; open when either excludes 0."""
    verdicts = {tpr["verdict"], fpr["verdict"]}
    if "not measurable" in verdicts:
        return {"verdict": "not measurable", "text": "not measurable: a TPR or FPR gap has no interval"}
    if verdicts == {"closed"}:
        return {"verdict": "closed", "text": "closed: TPR and FPR gaps both within tolerance"}
    if "open" in verdicts:
        which = " and ".join(n for n, v in (("TPR", tpr), ("FPR", fpr)) if v["verdict"] == "open")
        return {"verdict": "open", "text": f"open: the {which} gap's interval excludes 0"}
    return {"verdict": "inconclusive", "text": "inconclusive: a gap contains 0 but is not within tolerance"}


def _representation_point(s: Setting, r: int, tolerance: float) -> dict[str, Any]:
    point: dict[str, Any] = {"unprivileged_share": s.key[1], "n_seeds": len(s.samples)}
    for name, metric in (("tpr_gap", "tpr"), ("fpr_gap", "fpr")):
        e = entry(s.samples, st.rate_gap(metric, s.groups), r, domain=DIFFERENCE)
        point[name] = {**e, **equivalence(e["interval"], tolerance)}
    point["equalized_odds"] = _gap_closure(point["tpr_gap"], point["fpr_gap"])
    point["roc_auc"] = {g: entry(s.samples, st.roc_auc(g, s.groups), r, domain=RATE)
                        for g in ("privileged", "unprivileged")}
    point["auc_gap"] = entry(s.samples, st.auc_gap(s.groups), r, domain=DIFFERENCE)
    for m in PARITY:
        e = entry(s.samples, st.fairness(m, s.groups), r, s.point_mean(m), domain=METRIC_DOMAIN[m])
        point[m] = {**e, **verdict(m, e["interval"])}
    return point


def representation_sweep(settings: dict[tuple, Setting], r: int, tolerance: float) -> dict[str, Any]:
    """Per protected setting, unmitigated: the label-conditional gaps (TPR, FPR: equalized odds, tested for
    closure), the AUC by group, and the parity metrics, against the unprivileged share of the training data."""
    out = {}
    for protected in dict.fromkeys(k[0] for k in settings):
        pts = sorted(
            (
                s
                for k, s in settings.items()
                if k[0] == protected and k[2] == "none" and not k[3] and not is_natural(k[1]) and s.samples
            ),
            key=lambda s: s.key[1],
        )
        if len(pts) < 2:
            continue
        points = [_representation_point(s, r, tolerance) for s in pts]
        closed = [p["unprivileged_share"] for p in points if p["equalized_odds"]["verdict"] == "closed"]
        within = {
            m: min((p["unprivileged_share"] for p in points if p[m]["verdict"] == "passes"), default=None)
            for m in PARITY
        }
        out[protected] = {
            "points": points,
            "tested": EQUALIZED_ODDS,
            "equalized_odds_closed_from_share": min(closed) if closed else None,
            "tolerance": tolerance,
            "passes_from_share": within,
            "tpr_gap_change": _change(points, "tpr_gap"),
            "fpr_gap_change": _change(points, "fpr_gap"),
        }
    return out


def _change(points: list[dict[str, Any]], key: str) -> float | None:
    first, last = points[0][key]["mean"], points[-1][key]["mean"]
    return None if first is None or last is None else last - first


def mitigation_row(base: Setting, s: Setting, r: int, primary: str) -> dict[str, Any]:
    row = {"mitigation": s.key[2], **s.status()}
    if not s.samples:
        return row
    acc = st.group_rate("accuracy", "all", s.groups)
    pairs = paired(base, s)
    row["accuracy"] = entry(s.samples, acc, r, s.point_mean("group_accuracy", "all"), domain=RATE)
    row["accuracy_cost"] = entry(pairs, st.paired_difference(acc), r, domain=DIFFERENCE) if s is not base else None
    row["metrics"] = {
        m: {**(e := entry(s.samples, st.fairness(m, s.groups), r, s.point_mean(m), domain=METRIC_DOMAIN[m])),
            **verdict(m, e["interval"])}
        for m in PARITY
    }
    d = _distance_stat(primary, s.groups)
    row["distance"] = entry(s.samples, d, r, domain=DISTANCE)
    row["distance_reduction"] = entry(pairs, st.paired_difference(d), r, domain=REAL) if s is not base else None
    if s.key[2] == "calibrated_eq_odds":
        row["target"] = {
            "generalized_fnr_gap": entry(s.samples, st.generalized_gap("fnr", s.groups), r, domain=DIFFERENCE),
            "generalized_fpr_gap": entry(s.samples, st.generalized_gap("fpr", s.groups), r, domain=DIFFERENCE),
            "mix_rate": {g: s.point_mean("ceo_mix_rate", g) for g in ("privileged", "unprivileged")},
            "note": "Pleiss et al. 2017 equalize one generalized rate of calibrated scores; hard labels at 0.5 "
            "are not what it targets",
        }
    return row


def mitigation_comparison(settings: dict[tuple, Setting], r: int, primary: str) -> dict[str, Any]:
    """Per protected × share: every mitigation's status, accuracy, paired cost, parity metrics, and the best."""
    out = {}
    for key, base in settings.items():
        if key[2] != "none" or key[3] or not base.samples:
            continue
        others = [
            s
            for k, s in settings.items()
            if k[0] == key[0]
            and k[2] != "none"
            and not k[2].startswith(PREJUDICE)  # another model: compared against its own η = 0 (prejudice_remover)
            and not k[3]
            and (k[1] == key[1] or (is_natural(k[1]) and is_natural(key[1])))
        ]
        if not others:
            continue
        rows = [mitigation_row(base, s, r, primary) for s in [base, *others]]
        label = f"{key[0]} @ {'natural share' if is_natural(key[1]) else f'share {key[1]}'}"
        out[label] = {
            "protected": key[0],
            "unprivileged_share": None if is_natural(key[1]) else key[1],
            "table": rows,
            **_best(rows, primary),
        }
    return out


def _best(rows: list[dict], primary: str) -> dict[str, Any]:
    """The mitigation whose paired reduction of the distance from parity has an interval above 0, largest first."""
    better = [
        r
        for r in rows
        if r["mitigation"] != "none"
        and r["status"] == "ok"
        and r.get("distance_reduction")
        and (r["distance_reduction"]["interval95"][0] or 0) > 0
        and r["distance_reduction"]["interval95"][0] is not None
    ]
    excluded = {r["mitigation"]: r["reason"] for r in rows if r["status"] != "ok"}
    if not better:
        return {
            "best": None,
            "excluded": excluded,
            "best_reason": f"no feasible mitigation moved {primary} closer to parity with an interval above 0",
        }
    b = max(better, key=lambda r: r["distance_reduction"]["mean"])
    return {
        "best": b["mitigation"],
        "best_accuracy_cost": b["accuracy_cost"],
        "excluded": excluded,
        "best_reason": f"{primary} distance from parity reduced by {b['distance_reduction']['mean']:.3g} "
        f"(95% interval {b['distance_reduction']['interval95'][0]:.3g} to "
        f"{b['distance_reduction']['interval95'][1]:.3g}; the largest among the {len(better)} mitigation(s) whose "
        f"paired reduction interval lies above 0)",
    }


def frontier(settings: dict[tuple, Setting], r: int, primary: str) -> dict[str, Any]:
    """Per protected setting: accuracy and distance from parity (both with intervals) of every feasible setting."""
    out = {}
    for protected in dict.fromkeys(k[0] for k in settings):
        pts, excluded = [], []
        for k, s in settings.items():
            if k[0] != protected or k[3]:
                continue
            st_ = s.status()
            if st_["status"] != "ok":
                excluded.append({"mitigation": k[2], "unprivileged_share": None if is_natural(k[1]) else k[1], **st_})
                continue
            acc = entry(s.samples, st.group_rate("accuracy", "all", s.groups), r, domain=RATE)
            dist = entry(s.samples, _distance_stat(primary, s.groups), r, domain=DISTANCE)
            pts.append(
                {
                    "mitigation": k[2],
                    "unprivileged_share": None if is_natural(k[1]) else k[1],
                    "accuracy": acc["mean"],
                    "accuracy_interval95": acc["interval95"],
                    "distance": dist["mean"],
                    "distance_interval95": dist["interval95"],
                }
            )
        pts = [p for p in pts if p["accuracy"] is not None and p["distance"] is not None]
        for p in pts:
            p["pareto"] = not any(
                q is not p
                and q["accuracy"] >= p["accuracy"]
                and q["distance"] <= p["distance"]
                and (q["accuracy"] > p["accuracy"] or q["distance"] < p["distance"])
                for q in pts
            )
        out[protected] = {"points": pts, "excluded": excluded, "metric": primary}
    return out


def proxy_ablation(settings: dict[tuple, Setting], r: int) -> dict[str, Any]:
    """Per protected × dropped proxies: each parity metric with and without them, and the paired change."""
    out = {}
    for key, s in settings.items():
        if not key[3] or key[2] != "none":
            continue
        base = _same(settings, s, drop_features="")
        label = f"{key[0]} without {key[3]}"
        if base is None or not base.samples or not s.samples:
            out[label] = {"available": False, "reason": "no unmitigated trial with every feature at the same share"}
            continue
        pairs = paired(base, s)
        metrics = {}
        for m in ("statistical_parity_difference", "disparate_impact", "average_odds_difference"):
            d = _distance_stat(m, s.groups)
            full, ablated = (entry(base.samples, st.fairness(m, s.groups), r, domain=METRIC_DOMAIN[m]),
                             entry(s.samples, st.fairness(m, s.groups), r, domain=METRIC_DOMAIN[m]))
            carried = entry(pairs, st.paired_difference(d), r, domain=REAL)
            low, high = carried["interval95"]
            word = (
                "not measurable"
                if low is None
                else (
                    "the proxies carry part of the gap"
                    if low > 0
                    else "dropping them widens the gap" if high < 0 else "no measurable change"
                )
            )
            share = (
                (carried["mean"] / distance(m, full["mean"]))
                if full["mean"] is not None and distance(m, full["mean"]) > 0
                else None
            )
            metrics[m] = {
                "with_proxies": full,
                "without_proxies": ablated,
                "distance_carried": carried,
                "share_of_gap_carried": share,
                "verdict": word,
            }
        acc = st.group_rate("accuracy", "all", s.groups)
        out[label] = {
            "available": True,
            "protected": key[0],
            "dropped": key[3].split(","),
            "metrics": metrics,
            "accuracy_cost": entry(pairs, st.paired_difference(acc), r, domain=DIFFERENCE),
            "selection_rate": _selection_change(base, s, pairs, r),
            "note": PROXY_NOTE,
        }
    return out


PROXY_NOTE = (
    "A share of the difference-scale gap (SPD, AOD) falls with the overall selection rate as well as with the "
    "proxies: read it beside the selection-rate change. Disparate impact is the share on the ratio scale, which "
    "a uniform fall in selection leaves unchanged"
)


def _selection_change(base: Setting, s: Setting, pairs: list, r: int) -> dict[str, Any]:
    """Per group (all, privileged, unprivileged): selection rate with and without the proxies, and the paired
    ratio without / with (log scale)."""
    out = {}
    for g in ("all", "privileged", "unprivileged"):
        sel = st.group_rate("selection_rate", g, s.groups)
        out[g] = {
            "with_proxies": entry(base.samples, sel, r, domain=RATE),
            "without_proxies": entry(s.samples, sel, r, domain=RATE),
            "ratio_without_to_with": entry(pairs, st.paired_ratio(sel), r, domain=POSITIVE),
        }
    return out


__all__ = [
    "THRESHOLDS", "frontier", "mitigation_comparison", "mitigation_row", "proxy_ablation", "representation_sweep",
]
