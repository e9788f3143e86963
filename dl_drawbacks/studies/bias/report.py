"""The bias study's section of the report, and its headline rows for the cross-study summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...headline import Headline, from_interval, not_measurable
from ...report.markdown import fmt, image, table
from .group_names import named, privileged_sentence


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


def _headline_md(protected: str, h: dict[str, Any], orientation: str, group_table: bool,
                 names: dict[str, str]) -> list[str]:
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
    if group_table:
        by_group: dict[str, dict] = {}
        for g in h["groups"]:
            by_group.setdefault(g["group"], {})[g["metric"]] = g
        columns = GROUP_COLUMNS[orientation]
        out += [table(["group", *columns.values()], [[named(g, names), *[_cell(v.get(r)) for r in columns]]
                                                     for g, v in by_group.items()]), ""]
    tf, amp = h["threshold_free"], h["amplification"]
    out += [
        table(
            ["threshold-free", "privileged", "unprivileged", "unprivileged − privileged"],
            [[k, _cell(v["privileged"]), _cell(v["unprivileged"]), _cell(v["difference"])] for k, v in tf.items()],
        ),
        "",
    ]
    if h.get("ece_omitted"):
        out += [f"ECE: {h['ece_omitted']}.", ""]
    return out + _amplification_md(amp)


CONVENTION = {  # stated once per section, where its error rates are first printed
    "favourable": "Error rates: FPR = favourable prediction for an unfavourable truth, FNR the reverse "
                  "(aif360's orientation).",
    "propublica": "Error rates follow ProPublica's orientation throughout this section: false positive rate = "
                  "labelled high risk among those who did not reoffend, false negative rate = labelled low risk "
                  "among those who reoffended (aif360's FNR and FPR of 'no reoffence', renamed; never both).",
}
GROUP_COLUMNS = {  # rate key -> column title, per orientation (audit.py and compas_reference name ProPublica's)
    "favourable": {r: r for r in ("accuracy", "tpr", "fpr", "fnr", "selection_rate")},
    "propublica": {
        "accuracy": "accuracy",
        "fnr": "false positive rate (ProPublica: high risk, did not reoffend)",
        "fpr": "false negative rate (ProPublica: low risk, reoffended)",
        "selection_rate": "low-risk rate",
    },
}


def _amplification_md(amp: dict[str, Any]) -> list[str]:
    d, r = amp["difference"], amp["ratio"]
    out = [
        table(
            ["scale", "statistic", "value [95% interval]", "verdict"],
            [["difference", d["definition"], _cell(d["excess"]), d["verdict"]],
             ["ratio", r["definition"], _cell(r["factor"]), r["verdict"]]],
        ),
        "",
        f"Amplification: **{d['verdict']} on the difference scale, {r['verdict']} on the ratio scale**. Disparate "
        f"impact of labels {_cell(amp['label_disparate_impact'])}, of predictions "
        f"{_cell(amp['prediction_disparate_impact'])}; predicted positive rate {_cell(amp['predicted_positive_rate'])}"
        f" against the base rate {_cell(amp['base_rate'])}."
        + ("" if amp["scales_agree"] else f" The scales disagree: {amp['why_scales_differ']}."),
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


def _representation_md(protected: str, r: dict[str, Any]) -> list[str]:
    tol = r["tolerance"]
    rows = [
        [fmt(p["unprivileged_share"]), _cell(p["tpr_gap"]), _cell(p["fpr_gap"]), _cell(p["roc_auc"]["privileged"]),
         _cell(p["roc_auc"]["unprivileged"]), _cell(p["auc_gap"]), _cell(p["disparate_impact"]),
         p["equalized_odds"]["text"]]
        for p in r["points"]
    ]
    closed = r["equalized_odds_closed_from_share"]
    return [
        f"### Representation sweep — {protected}",
        "",
        f"Tested: {r['tested']}. Tolerance ±{tol}; gaps are unprivileged − privileged.",
        "",
        table(["unprivileged share", "TPR gap", "FPR gap", "AUC privileged", "AUC unprivileged", "AUC gap",
               "disparate impact", f"equalized odds closed (±{tol})?"], rows),
        "",
        f"Equalized odds closed from share {fmt(closed) if closed is not None else '— never'}.",
        "",
    ]


def _prejudice_md(key: str, p: dict[str, Any], primary: str) -> list[str]:
    rows = [
        [fmt(r["eta"]), r["status"] + (f": {r['reason']}" if r.get("reason") else ""), _cell(r.get("accuracy")),
         _cell(r.get("accuracy_cost")), _cell((r.get("metrics") or {}).get(primary)), _cell(r.get("distance")),
         _cell(r.get("distance_reduction")), r.get("verdict", "reference" if r["eta"] == 0 else "—")]
        for r in p["table"]
    ]
    note = p["method"] if p["reference"] else p["reference_reason"]
    return [
        f"### Prejudice remover over η — {key}",
        "",
        f"{note}.",
        "",
        table(["η", "status", "accuracy", "accuracy cost vs η = 0 (paired)", primary.replace("_", " "),
               "distance from parity", "distance reduction vs η = 0 (paired)", "verdict"], rows),
        "",
    ]


def _proxy_md(key: str, p: dict[str, Any]) -> list[str]:
    if not p.get("available"):
        return [f"### Proxy ablation — {key}: not measurable ({p['reason']})", ""]
    metrics = [
        [m, _cell(v["with_proxies"]), _cell(v["without_proxies"]), _cell(v["distance_carried"]),
         fmt(v["share_of_gap_carried"]), v["verdict"]]
        for m, v in p["metrics"].items()
    ]
    selection = [
        [g, _cell(v["with_proxies"]), _cell(v["without_proxies"]), _cell(v["ratio_without_to_with"])]
        for g, v in p["selection_rate"].items()
    ]
    return [
        f"### Proxy ablation — {key}",
        "",
        table(["metric", "with proxies", "without", "distance from parity they carry (paired)", "share of gap",
               "verdict"], metrics),
        "",
        f"Beside it: accuracy cost of dropping them (with − without, paired) {_cell(p['accuracy_cost'])}; selection "
        "rates:",
        "",
        table(["group", "selection rate with proxies", "without", "ratio without / with (paired)"], selection),
        "",
        f"{p['note']}.",
        "",
    ]


def _pairing_md(protected: str, c: dict[str, Any], groups: dict[str, str]) -> list[str]:
    names = ("false_positive_rate", "false_negative_rate", "high_risk_rate")
    rows = [
        [named(g, groups), name.replace("_", " "), _cell(v[name]["compas"]), _cell(v[name]["model"]),
         _cell(v[name]["model_minus_compas"])]
        for g, v in c["rates"].items() for name in names
    ]
    gap = c["false_positive_rate_gap"]
    rows.append(["unprivileged − privileged", "false positive rate gap", _cell(gap["compas"]), _cell(gap["model"]),
                 _cell(gap["model_minus_compas"])])
    return [
        f"### COMPAS and the trained model on the same {c['defendants']} test defendants — {protected}",
        "",
        f"{c['decision']} (error rates in the orientation stated at the top of this section). Model seeds "
        f"{c['seeds']}; intervals over seeds × defendants (COMPAS's decisions are fixed, so its intervals are over "
        "defendants), model − COMPAS paired by defendant.",
        "",
        table(["group", "rate", "COMPAS", "model", "model − COMPAS (paired)"], rows),
        "",
    ]


def bias_markdown(f: dict[str, Any], figures: list[Path], *, group_table: bool = True) -> str:
    """The bias section; ``group_table`` False leaves out the per-group rates (an audit prints them itself)."""
    out = [f"*{f.get('question', '')}*", ""]
    if f.get("available") is False:
        return "\n".join(out + [f"Not measurable: {f['reason']}."])
    orientation, names = f.get("orientation", "favourable"), f.get("group_names") or {}
    out += [
        f"{f['trials']} trials, seeds {f['seeds']}, {f['test_samples']} test samples. Intervals: "
        f"{f['interval_method']}. "
        "Verdicts pass only when the whole interval is inside the band, fail when wholly outside, else inconclusive. "
        f"{privileged_sentence(names)}" + (f" {CONVENTION[orientation]}" if group_table else ""),
        "",
    ]
    for protected, h in f["headline"].items():
        out += _headline_md(protected, h, orientation, group_table, names)
    for protected, c in f.get("compas_pairing", {}).items():
        out += _pairing_md(protected, c, names)
    for protected, r in f["representation"].items():
        out += _representation_md(protected, r)
    for key, m in f["mitigation"].items():
        out += _mitigation_md(key, m, f["primary_metric"])
    for key, p in f.get("prejudice_remover", {}).items():
        out += _prejudice_md(key, p, f["primary_metric"])
    for key, p in f["proxy_ablation"].items():
        out += _proxy_md(key, p)
    out += [image(p) for p in figures]
    return "\n".join(out)


def _group_error_headlines(protected: str, h: dict[str, Any], orientation: str, groups: dict[str, str]) -> list:
    """Each single attribute's error rates; COMPAS's orientation names them ProPublica's way (compas_reference)."""
    names = {"favourable": {"fnr": ("fnr", "FNR", "unfavourable prediction for a favourable truth"),
                            "fpr": ("fpr", "FPR", "favourable prediction for an unfavourable truth")},
             "propublica": {"fnr": ("false_positive_rate", "false positive rate", "high risk, did not reoffend"),
                            "fpr": ("false_negative_rate", "false negative rate", "low risk, reoffended")}}[orientation]
    out = []
    for g in h["groups"]:
        if g["group"].count("=") == 1 and g["metric"] in names:
            key, title, what = names[g["metric"]]
            out.append(from_interval("bias", f"{key}/{g['group']}", f"{title} ({named(g['group'], groups)}): {what}",
                                     g["interval"],
                                     unit="fraction", estimate=g["mean"], method="test predictions"))
    return out


def _amplification_headlines(protected: str, amp: dict[str, Any]) -> list:
    d, r = amp["difference"], amp["ratio"]
    return [
        from_interval("bias", f"amplification/{protected}",
                      f"bias amplification, difference scale ({protected}): {d['verdict']}", d["excess"]["interval"],
                      unit="SPD", null=0.0, estimate=d["excess"]["mean"], method=d["definition"]),
        from_interval("bias", f"amplification_ratio/{protected}",
                      f"bias amplification, ratio scale ({protected}): {r['verdict']}", r["factor"]["interval"],
                      unit="×", null=1.0, estimate=r["factor"]["mean"], method=r["definition"]),
    ]


def _pairing_headlines(protected: str, c: dict[str, Any], groups: dict[str, str]) -> list:
    gap = c["false_positive_rate_gap"]["model_minus_compas"]
    out = [from_interval("bias", f"compas_vs_model/false_positive_rate_gap/{protected}",
                         f"model − COMPAS, false positive rate gap unprivileged − privileged ({protected}, same "
                         "defendants, ProPublica's orientation)", gap["interval"], unit="fraction", null=0.0,
                         estimate=gap["mean"], method="paired by seed and defendant")]
    for g, v in c["rates"].items():
        e = v["false_positive_rate"]["model_minus_compas"]
        out.append(from_interval("bias", f"compas_vs_model/false_positive_rate/{g}",
                                 f"model − COMPAS, false positive rate ({named(g, groups)}, same defendants)",
                                 e["interval"],
                                 unit="fraction", null=0.0, estimate=e["mean"], method="paired by seed and defendant"))
    return out


def bias_headlines(f: dict[str, Any], *, group_errors: bool = True) -> list[Headline]:
    """Parity metrics (resolved when their verdict is: passes or fails), the group error rates (unless
    ``group_errors`` is False: an audit headlines them itself), amplification on both scales (excludes the null),
    COMPAS against the model (excludes 0) and the best mitigation's accuracy cost (excludes 0), by the headline
    policy."""
    out = []
    orientation, names = f.get("orientation", "favourable"), f.get("group_names") or {}
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
        if group_errors:
            out += _group_error_headlines(protected, h, orientation, names)
        out += _amplification_headlines(protected, h["amplification"])
    for protected, c in f.get("compas_pairing", {}).items():
        out += _pairing_headlines(protected, c, names)
    for key, m in f.get("mitigation", {}).items():
        if m["best"]:
            c = m["best_accuracy_cost"]
            out.append(from_interval("bias", f"mitigation_cost/{key}",
                                     f"accuracy cost of best mitigation {m['best']} ({key})", c["interval"],
                                     unit="fraction", null=0.0, estimate=c["mean"],
                                     method="paired by seed and test sample"))
    return out


def audit_markdown(f: dict[str, Any]) -> str:
    names = f.get("group_names") or {}
    out = ["### Audit of existing decisions (COMPAS decile score; nothing trained)", "", CONVENTION["propublica"], ""]
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
                    [named(g, names), _cell(v["false_positive_rate"]), _cell(v["false_negative_rate"]),
                     _cell(v["high_risk_rate"])]
                    for g, v in a["propublica_rates"].items()
                ],
            ),
            "",
        ]
        cal = a["calibration_within_groups"]
        out += [
            "Reliability by decile (calibration within groups): the reoffence rate of each decile, per group. It "
            "replaces an ECE, which compares predicted probabilities with outcome rates: a decile is a rank, not "
            "a probability.",
            "",
        ]
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


def audit_headlines(f: dict[str, Any]) -> list[Headline]:
    out, names = [], f.get("group_names") or {}
    for protected, a in f.get("audit", {}).items():
        for g, v in a.get("propublica_rates", {}).items():
            for name in ("false_positive_rate", "false_negative_rate"):
                e = v[name]
                out.append(from_interval("bias", f"compas/{name}/{g}",
                                         f"COMPAS {name.replace('_', ' ')} ({named(g, names)})",
                                         e["interval"], unit="fraction", estimate=e["mean"],
                                         method=a["definitions"][name]))
    return out
