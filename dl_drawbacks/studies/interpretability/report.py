"""The interpretability study's section of the report and its headline numbers (per condition, never pooled)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...headline import Headline, from_interval, not_measurable
from ...report.markdown import fmt, image, table
from .cells import interval_cell as _ci
from .sanity import INPUT_REFERENCE

VERDICT = {True: "passes", False: "**fails**", None: "—"}


def _planted(c: dict[str, Any]) -> list[str]:
    p = c["planted"]
    if not p.get("available"):
        return [f"Planted feature: not measurable — {p['reason']}.", ""]
    r = p["reliance"]
    rel = table(
        ["model", "acc. true patch", "acc. patch removed", "acc. wrong patch", "drop on removal", "prediction flips",
         "follows a wrong patch"],
        [
            [
                role,
                _ci(x["accuracy_true_patch"]),
                _ci(x["accuracy_patch_removed"]),
                _ci(x["accuracy_wrong_patch"]),
                _ci(x["accuracy_drop"]),
                _ci(x["prediction_flips"]),
                _ci(x.get("follows_wrong_patch")),
            ]
            for role, x in (("planted", r["planted"]), ("negative control", r["control"]))
        ],
    )
    loc = table(
        [
            "method",
            "rank AUC planted",
            "rank AUC control",
            "lift over control",
            "share lift over control",
            "AUC flipped / not flipped samples",
            "finds the patch",
        ],
        [
            [
                m,
                _ci(e["auc"]["planted"]),
                _ci(e["auc"]["control"]),
                _ci(e["auc"]["lift_over_control"]),
                _ci(e["share"]["lift_over_control"]),
                f"{fmt(e['auc_by_reliance']['flipped']['mean'])} / {fmt(e['auc_by_reliance']['not_flipped']['mean'])}",
                VERDICT[e["finds_planted_feature"]],
            ]
            for m, e in p["localisation"].items()
        ],
    )
    return [
        f"Planted patch ({fmt(p['patch_area_share'])} of the input), {p['pairs']} planted/control pairs. Reliance: "
        f"{'established' if r['established'] else 'not established'} ({r['rule']}); drop over the control's: "
        f"{_ci(r['drop_over_control'])}. Negative control's patch pixels: {_trained(p.get('control_trained'))}. "
        "No localisation is judged unless both checks pass.",
        "",
        rel,
        "",
        "Localisation (rank AUC 0.5 = chance; lift = planted − control per seed and sample):",
        "",
        loc,
        "",
    ]


def _trained(t: dict[str, Any] | None) -> str:
    if not t:
        return "not recorded"
    change = t["weight_change"]
    moved = f"weights moved {fmt(change['low'])}–{fmt(change['high'])} of their norm" if change["n"] else "no record"
    return f"{'trained' if t['passes'] else '**not trained**'} ({moved}; {t['rule']})"


def _twin_cell(d: dict[str, Any]) -> str:
    control = d.get("control")
    if not control:
        return "—"
    fit = control["fit_accuracy"]
    return f"{fmt(fit['low'])}–{fmt(fit['high'])} train acc. on its labels: {VERDICT[control['passes']]}"


def _refused(d: dict[str, Any]) -> str:
    return f" ({d['reason']})" if d.get("reason") else ""


def _audit(c: dict[str, Any]) -> list[str]:
    a = c["audit"]
    if not a.get("available"):
        return [f"Audit of the clean model: not measurable — {a['reason']}.", ""]
    faith = [
        [m, b, _ci(v["deletion_gain"]), _ci(v["insertion_gain"])]
        for m, per in a["faithfulness"].items()
        for b, v in per.items()
    ]
    sanity = [
        [
            f"{m} (|x|: ignores the model, must fail)" if m == INPUT_REFERENCE else m,
            _ci(s["independent"]),
            _ci(s["randomised"]),
            VERDICT[s["model_randomisation"]["passes"]],
            _ci(s["label_random"]),
            _twin_cell(s["data_randomisation"]),
            VERDICT[s["data_randomisation"]["passes"]] + _refused(s["data_randomisation"]),
        ]
        for m, s in a["sanity"].items()
    ]
    robust = [
        [
            "random map (reference)" if m == "random" else m,
            _ci(v["infidelity_noise"]),
            _ci(v["infidelity_removal"]),
            _ci(v["sensitivity_max"]),
            _ci(a["cost_seconds_per_sample"].get(m)),
        ]
        for m, v in a["robustness"].items()
    ]
    return [
        "Faithfulness (gain over a random order under the same baseline; higher is better):",
        "",
        table(["method", "baseline", "deletion gain", "insertion gain"], faith),
        "",
        "Sanity (Spearman of |maps| to the trained model's; reference = an independently trained model; "
        "passes when the randomised model's maps are less similar than the reference's):",
        "",
        table(
            [
                "method",
                "reference (independent)",
                "all layers randomised",
                "model rand.",
                "permuted labels",
                "permuted twin fit (control)",
                "data rand.",
            ],
            sanity,
        ),
        "",
        table(["method", "infidelity ↓, noise", "infidelity ↓, removal", "max-sensitivity ↓", "s / sample"], robust),
        "",
    ]


def _price(c: dict[str, Any]) -> list[str]:
    p = c["price_of_interpretability"]
    if not p.get("available"):
        return [f"Price of interpretability: not measurable — {p['reason']}.", ""]
    rows = [
        [
            m,
            _ci(v["accuracy"]),
            _ci(v["gap"]),
            ", ".join(f"{k} {fmt(r['low'])}–{fmt(r['high'])}" for k, r in v["chosen"].items()),
        ]
        for m, v in p["models"].items()
    ]
    return [
        f"Price of interpretability on clean data (network test acc. {_ci(p['network_accuracy'])}):",
        "",
        table(
            [
                "interpretable model (tuned on validation)",
                "test acc.",
                "gap network − model",
                "chosen (range over seeds)",
            ],
            rows,
        ),
        "",
    ]


def interpretability_markdown(f: dict[str, Any], figures: list[Path]) -> str:
    from .roar_report import roar_markdown

    excluded = ", ".join(f"{e['condition']} ({fmt(e['accuracy'])})" for e in f["excluded_conditions"]) or "none"
    out = [
        f"*{f['question']}*",
        "",
        f"{f['trials']} trials. Intervals: {f['intervals']}. Conditions below "
        f"{fmt(f['min_accuracy'])} mean test accuracy are reported but left out of the headlines: {excluded}. "
        f"Headline condition: {f['headline_condition'] or 'none reached the accuracy'}.",
        "",
    ]
    for c in f["conditions"]:
        out += [
            f"### {c['condition']} — {fmt(c['parameters'])} parameters, test accuracy "
            f"{_ci(c['accuracy'])} ({c['accuracy_of']}){'' if c['eligible'] else ' — below the headline accuracy'}",
            "",
        ]
        out += _planted(c) + _audit(c) + _price(c) + roar_markdown(c)
    out += [image(p) for p in figures]
    return "\n".join(out)


def interpretability_headlines(f: dict[str, Any]) -> list[Headline]:
    """Gains over random order, sanity gaps, reliance, localisation lift (only where the planted model uses its
    patch) and the price of interpretability, each resolved when its interval excludes 0 (``headline``)."""
    from .roar_report import roar_headlines

    chosen = next((c for c in f.get("conditions", []) if c["condition"] == f.get("headline_condition")), None)
    if chosen is None:
        return [not_measurable("interpretability", "interpretability", "interpretability headlines",
                               f"no condition reached {f.get('min_accuracy')} mean test accuracy")]
    tag = f" ({chosen['condition']})"
    out = []
    a, p, price = chosen["audit"], chosen["planted"], chosen["price_of_interpretability"]

    def row(key: str, text: str, iv: dict[str, Any] | None, unit: str, **policy: Any) -> None:
        if iv and iv.get("estimate") is not None:
            out.append(from_interval("interpretability", key, text + tag, iv, unit=unit, null=0.0, **policy))

    for m, per in (a.get("faithfulness") or {}).items():
        for b, v in per.items():
            row(f"insertion_gain/{m}/{b}", f"insertion AUC gain over random order, {m}, baseline {b}",
                v["insertion_gain"], "probability")
    for m, s in (a.get("sanity") or {}).items():
        if m == INPUT_REFERENCE:  # the reference that must fail, not a method
            continue
        row(f"model_randomisation/{m}", f"reference minus fully-randomised Spearman, {m}",
            s["model_randomisation"]["reference_minus_randomised"], "rho")
        twin = s["data_randomisation"].get("control") or {"passes": False, "reason": "no twin control recorded"}
        row(f"data_randomisation/{m}", f"reference minus permuted-label Spearman, {m}",
            s["data_randomisation"]["reference_minus_randomised"], "rho",
            requires=(twin["passes"], twin["reason"] or ""))
    if p.get("available"):
        reliance = p["reliance"]
        row("patch_reliance", "accuracy drop on patch removal, planted model", reliance["planted"]["accuracy_drop"],
            "fraction")
        trained = p.get("control_trained") or {"passes": False, "reason": "the control's patch check is missing"}
        uses_patch = (bool(reliance["established"]), "the planted model does not use the patch "
                      f"({reliance['rule']}), so no localisation lift is judged")
        if uses_patch[0] and not trained["passes"]:
            uses_patch = (False, f"the negative control is no control: {trained['reason']}")
        for m, e in p["localisation"].items():
            row(f"patch_lift/{m}", f"patch rank AUC lift over the negative control, {m}", e["auc"]["lift_over_control"],
                "probability", requires=uses_patch)
    for m, v in (price.get("models") or {}).items():
        row(f"price/{m}", f"accuracy gap network − tuned {m}, clean data", v["gap"], "fraction")
    return out + roar_headlines(f)
