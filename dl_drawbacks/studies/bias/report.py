"""The bias study's section of the report, and its headline rows for the cross-study summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...headline import as_dicts, from_interval, not_measurable
from ...report.markdown import fmt, image, table


def _mix_rates(rates) -> str:
    """Calibrated equalized odds' mix rate per group (the share of a group's predictions replaced), 3 digits."""
    if not isinstance(rates, dict):
        return str(rates)
    return ", ".join(f"{g} {v:.3g}" if isinstance(v, (int, float)) else f"{g} {v}" for g, v in rates.items())

def _iv(pair: list | None) -> str:
    return f"[{fmt(pair[0])}, {fmt(pair[1])}]" if pair and pair[0] is not None else "—"


def _cell(e: dict | None) -> str:
    if not e or e.get("mean") is None:
        return "—"
    pair = e.get("interval95")
    flat = " (zero width: no spread, not certainty)" if pair and pair[0] is not None and pair[0] == pair[1] else ""
    return f"{fmt(e['mean'])} {_iv(pair)}{flat}"


def _headline_md(protected: str, h: dict[str, Any]) -> list[str]:
    if not h.get("available"):
        return [f"### {protected}: not measurable — {h['reason']}", ""]
    share = h["setting"]["unprivileged_share"]
    out = [
        f"### {protected}: unmitigated model "
        f"({'natural composition' if share is None else f'unprivileged share {share}'}, "
        f"seeds {h['seeds']})",
        "",
    ]
    out += [
        table(
            ["metric", "aif360 value (mean over seeds)", "95% nested interval", "verdict"],
            [[m, fmt(v["mean"]), _iv(v["interval95"]), v["text"]] for m, v in h["metrics"].items()],
        ),
        "",
    ]
    rates = ("accuracy", "tpr", "fpr", "fnr", "selection_rate")
    by_group: dict[str, dict] = {}
    for g in h["groups"]:
        by_group.setdefault(g["group"], {})[g["metric"]] = g
    out += [table(["group", *rates], [[g, *[_cell(v.get(r)) for r in rates]] for g, v in by_group.items()]), ""]
    tf, amp = h["threshold_free"], h["amplification"]
    out += [
        table(
            ["threshold-free", "privileged", "unprivileged", "unprivileged − privileged"],
            [[k, _cell(v["privileged"]), _cell(v["unprivileged"]), _cell(v["difference"])] for k, v in tf.items()],
        ),
        "",
    ]
    out += [
        f"Amplification ({amp['definition']}): **{amp['verdict']}**, {_cell(amp['spd_excess'])}; disparate impact of "
        f"labels {_cell(amp['label_disparate_impact'])}, of predictions {_cell(amp['prediction_disparate_impact'])}.",
        "",
    ]
    return out


def _mitigation_md(key: str, m: dict[str, Any], primary: str) -> list[str]:
    out = [f"### Mitigation — {key}", ""]
    metrics = (
        "disparate_impact",
        "statistical_parity_difference",
        "equal_opportunity_difference",
        "average_odds_difference",
    )
    rows = []
    for r in m["table"]:
        status = r["status"] + (f": {r['reason']}" if r.get("reason") else "")
        met = r.get("metrics", {})
        rows.append(
            [
                r["mitigation"],
                status,
                _cell(r.get("accuracy")),
                _cell(r.get("accuracy_cost")),
                *[_cell(met.get(x)) for x in metrics],
            ]
        )
    out += [table(["mitigation", "status", "accuracy", "accuracy cost vs none (paired)", *metrics], rows), ""]
    for r in m["table"]:
        if r.get("target"):
            t = r["target"]
            out += [
                "Calibrated equalized odds, on what it targets: generalized FNR gap "
                f"{_cell(t['generalized_fnr_gap'])}, "
                f"generalized FPR gap {_cell(t['generalized_fpr_gap'])}; "
                f"mix rates {_mix_rates(t['mix_rate'])}. {t['note']}.",
                "",
            ]
    best = (
        f"Best by {primary.replace('_', ' ')}: **{m['best']}** ({m['best_reason']}), accuracy cost "
        f"{_cell(m['best_accuracy_cost'])}."
        if m["best"]
        else m["best_reason"] + "."
    )
    return out + [best, ""]


def bias_markdown(f: dict[str, Any], figures: list[Path]) -> str:
    out = [f"*{f.get('question', '')}*", ""]
    if f.get("available") is False:
        return "\n".join(out + [f"Not measurable: {f['reason']}."])
    out += [
        f"{f['trials']} trials, seeds {f['seeds']}, {f['test_samples']} test samples. Intervals: "
        f"{f['interval_method']}. "
        "Verdicts pass only when the whole interval is inside the band, fail when wholly outside, else inconclusive. "
        "Privileged = every listed attribute 1; unprivileged = every listed attribute 0.",
        "",
    ]
    for protected, h in f["headline"].items():
        out += _headline_md(protected, h)
    for protected, r in f["representation"].items():
        out += [f"### Representation sweep — {protected}", ""]
        cols = ("accuracy_gap", "disparate_impact", "statistical_parity_difference", "average_odds_difference")
        out += [
            table(
                ["unprivileged share", *[c.replace("_", " ") for c in cols], "gap closed?"],
                [
                    [fmt(p["unprivileged_share"]), *[_cell(p.get(c)) for c in cols], p["accuracy_gap"]["text"]]
                    for p in r["points"]
                ],
            ),
            "",
        ]
        closed = r["accuracy_gap_closed_from_share"]
        out += [
            f"Accuracy gap (privileged − unprivileged) closed (interval within ±{r['tolerance']}) from share "
            f"{fmt(closed) if closed is not None else '— never'}.",
            "",
        ]
    for key, m in f["mitigation"].items():
        out += _mitigation_md(key, m, f["primary_metric"])
    for key, p in f["proxy_ablation"].items():
        if not p.get("available"):
            out += [f"### Proxy ablation — {key}: not measurable ({p['reason']})", ""]
            continue
        out += [f"### Proxy ablation — {key}", ""]
        out += [
            table(
                [
                    "metric",
                    "with proxies",
                    "without",
                    "distance from parity they carry (paired)",
                    "share of gap",
                    "verdict",
                ],
                [
                    [
                        m,
                        _cell(v["with_proxies"]),
                        _cell(v["without_proxies"]),
                        _cell(v["distance_carried"]),
                        fmt(v["share_of_gap_carried"]),
                        v["verdict"],
                    ]
                    for m, v in p["metrics"].items()
                ],
            ),
            "",
        ]
    out += [image(p) for p in figures]
    return "\n".join(out)


def bias_headlines(f: dict[str, Any]) -> list[dict[str, Any]]:
    """Parity metrics (resolved when their verdict is: passes or fails), the group error rates, amplification
    (excludes 0) and the best mitigation's accuracy cost (excludes 0), by the headline policy."""
    out = []
    for protected, h in f.get("headline", {}).items():
        if not h.get("available"):
            out.append(not_measurable("bias", f"bias/{protected}", f"bias ({protected})", h["reason"]))
            continue
        for metric, v in h["metrics"].items():
            text = f"{metric.replace('_', ' ')} ({protected})"
            method = f"aif360 on test predictions, {v['n_seeds']} seeds"
            if v["verdict"] in ("passes", "fails"):
                text += f" — {v['text']}"
            judged = v["verdict"] in ("passes", "fails", "no threshold")  # a verdict the interval resolves
            out.append(from_interval("bias", f"{metric}/{protected}", text, v["interval"], unit="",
                                     estimate=v["mean"], method=method, requires=(judged, v["text"])))
        for g in h["groups"]:
            if g["group"].count("=") == 1 and g["group"] != "all" and g["metric"] in ("fnr", "fpr"):
                what = (  # with COMPAS's orientation (favourable = no reoffence) fnr is ProPublica's FPR (audit.py)
                    "unfavourable prediction for a favourable truth"
                    if g["metric"] == "fnr"
                    else "favourable prediction for an unfavourable truth"
                )
                out.append(from_interval("bias", f"{g['metric']}/{g['group']}",
                                         f"{g['metric'].upper()} ({g['group']}): {what}", g["interval"],
                                         unit="fraction", estimate=g["mean"], method="test predictions"))
        amp = h["amplification"]
        out.append(from_interval("bias", f"amplification/{protected}",
                                 f"bias amplification ({protected}): {amp['verdict']}", amp["spd_excess"]["interval"],
                                 unit="SPD", null=0.0, estimate=amp["spd_excess"]["mean"], method=amp["definition"]))
    for key, m in f.get("mitigation", {}).items():
        if m["best"]:
            c = m["best_accuracy_cost"]
            out.append(from_interval("bias", f"mitigation_cost/{key}",
                                     f"accuracy cost of best mitigation {m['best']} ({key})", c["interval"],
                                     unit="fraction", null=0.0, estimate=c["mean"],
                                     method="paired by seed and test sample"))
    return as_dicts(out)


def audit_markdown(f: dict[str, Any]) -> str:
    out = ["### Audit of existing decisions (COMPAS decile score; nothing trained)", ""]
    for protected, a in f.get("audit", {}).items():
        if not a.get("available"):
            out += [f"{protected}: not measurable — {a['reason']}", ""]
            continue
        out += [
            f"{a['rows']} rows. {a['definitions']['false_positive_rate']} (FPR); "
            f"{a['definitions']['false_negative_rate']} (FNR). 95% intervals: bootstrap over defendants.",
            "",
        ]
        out += [
            table(
                ["group", "false positive rate", "false negative rate", "high-risk rate"],
                [
                    [g, _cell(v["false_positive_rate"]), _cell(v["false_negative_rate"]), _cell(v["high_risk_rate"])]
                    for g, v in a["propublica_rates"].items()
                ],
            ),
            "",
        ]
        cal = a["calibration_within_groups"]
        out += [
            table(
                ["decile", *[f"reoffence rate, {g}" for g in cal]],
                [
                    [d["decile"], *[_cell(cal[g][i]["reoffence_rate"]) for g in cal]]
                    for i, d in enumerate(next(iter(cal.values())))
                ],
            ),
            "",
        ]
    return "\n".join(out)


def audit_headlines(f: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for protected, a in f.get("audit", {}).items():
        for g, v in a.get("propublica_rates", {}).items():
            for name in ("false_positive_rate", "false_negative_rate"):
                e = v[name]
                out.append(from_interval("bias", f"compas/{name}/{g}", f"COMPAS {name.replace('_', ' ')} ({g})",
                                         e["interval"], unit="fraction", estimate=e["mean"],
                                         method=a["definitions"][name]))
    return as_dicts(out)
