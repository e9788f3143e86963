"""The ROAR part of the interpretability report: a method × fraction table of retrained test accuracy, the gain
over the random ranking with its verdict, and one headline per method (conditions that reached the accuracy)."""

from __future__ import annotations

from typing import Any

from ...headline import Headline, from_interval, not_measurable
from ...report.markdown import fmt, table
from .cells import interval_cell as _ci
from .roar_summary import NOT_RUN, NOT_RUN_IN_STUDY


VERDICT = {True: "passes", False: "**fails**", None: "not judged"}


def _verdict(g: dict[str, Any]) -> str:
    if not g.get("available"):
        return f"— ({g['reason']})"
    return g["verdict"] or f"— ({g['reason']})"


def roar_markdown(c: dict[str, Any]) -> list[str]:
    r = c.get("roar") or {"available": False, "reason": NOT_RUN}
    if not r.get("available"):
        return [f"{r['reason']}.", ""]  # every reason names ROAR
    fractions = sorted({p["fraction"] for curve in r["curves"].values() for p in curve})
    removed = r["features_removed"]
    header = [
        "ranking",
        "0 (clean trials)",
        *(f"{f:g} ({removed.get(f'{f:g}', '?')} features)" for f in fractions),
        "gain over random",
        "mask-only acc. / random masks (control)",
        "mask leak",
        "retrainings converged",
        "verdict",
    ]
    rows = []
    for method, curve in r["curves"].items():
        at = {p["fraction"]: p["accuracy"] for p in curve}
        gain = r["gains"].get(method)
        mask = (r.get("mask_control") or {}).get(method)
        conv = (r.get("convergence") or {}).get(method)
        rows.append(
            [
                f"{method} (reference)" if method.partition("@")[0] == r["reference"] else method,
                _ci(r["clean_accuracy"]) if r["clean_accuracy"].get("available", True) else "—",
                *(_ci(at.get(f)) for f in fractions),
                "0 by construction" if gain is None else (_ci(gain["gain"]) if gain.get("available") else "—"),
                f"{_ci(mask['mask_only_accuracy'])} / {_ci(mask['random_mask_accuracy'])}" if mask else "—",
                f"{_ci(mask['leak'])}: {VERDICT[mask['passes']]}" if mask else "not recorded",
                f"{conv['converged']}/{conv['trials']} (largest late change {fmt(conv['largest_late_change'])}; "
                f"final train acc. {fmt(conv['final_train_accuracy']['low'])}–"
                f"{fmt(conv['final_train_accuracy']['high'])}, "
                f"late train gain ≤ {fmt(conv['largest_late_train_gain'])})"
                if conv else "—",
                "negative control" if gain is None else _verdict(gain),
            ]
        )
    lines = [
        f"ROAR (remove and retrain, Hooker et al. 2019), {r['trials']} trials: each image's features ranked by the "
        f"|attribution| of a model trained on the clean data (its test accuracy {_ci(r['source_accuracy'])}), the "
        f"top fraction replaced by the {r['fill']} in train and test, a fresh model trained on the degraded data. "
        f"Test accuracy of the retrained models ({r['intervals']}); {r['rule']}. Controls, each refusing the "
        f"verdict when it fails: mask-only (a logistic regression on the removal mask alone, mean over fractions): "
        f"{r.get('mask_rule', 'not recorded')}; retraining: {r.get('convergence_rule', 'not recorded')}.",
        "",
        table(header, rows),
        "",
    ]
    if not r["clean_accuracy"].get("available", True):
        lines += [f"Fraction 0: {r['clean_accuracy']['reason']}.", ""]
    if r["gains_reason"]:
        lines += [f"Gain over random: {r['gains_reason']}.", ""]
    if r["without_predictions"]:
        lines += [f"{r['without_predictions']} ROAR trial(s) ended without test predictions and are left out.", ""]
    return lines


def _gain_row(c: dict[str, Any], method: str, g: dict[str, Any]) -> Headline:
    fractions = ", ".join(f"{x:g}" for x in g["fractions"])
    return from_interval("interpretability", f"roar/{method}/{c['condition']}",
                         f"ROAR gain over random ranking, {method} ({c['condition']}): mean over fractions {fractions} "
                         f"of random's retrained test accuracy minus {method}'s; {g['verdict'] or 'not judged'}",
                         g["gain"], unit="accuracy", null=0.0,
                         requires=(g["verdict"] is not None, g.get("reason") or "not judged"))


def roar_headlines(f: dict[str, Any]) -> list[Headline]:
    """One row per method of every condition that ran ROAR and reached the accuracy; else one row with a reason."""
    ran = [c for c in f.get("conditions", []) if (c.get("roar") or {}).get("available")]
    eligible = [c for c in ran if c["eligible"]]
    out = [
        _gain_row(c, method, g)
        for c in eligible
        for method, g in c["roar"]["gains"].items()
        if g.get("available") and g["gain"].get("estimate") is not None
    ]
    if out:
        return out
    if not ran:
        reason = NOT_RUN_IN_STUDY
    elif not eligible:
        reason = "no condition that ran ROAR reached the headline accuracy"
    else:
        reason = "no method's gain over random could be measured (only random ran, or no seed shared with random)"
    return [not_measurable("interpretability", "roar", "ROAR gain over random ranking", reason)]
