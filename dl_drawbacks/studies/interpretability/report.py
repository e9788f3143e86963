"""The interpretability study's section of the report and its headline numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...report.markdown import fmt, image, table


def _ci(s: dict[str, Any] | None) -> str:
    if not s or s.get("mean") is None:
        return "—"
    iv = s.get("interval")
    return f"{fmt(s['mean'])} [{fmt(iv[0])}, {fmt(iv[1])}]" if iv else fmt(s["mean"])


def _method_table(f: dict[str, Any]) -> str:
    rows = []
    for m, e in f["methods"].items():
        verdict = {True: "passes", False: "**fails**", None: "—"}[e.get("sanity_passed")]
        rows.append([m, _ci(e.get("deletion_auc")), _ci(e.get("deletion_gain")), _ci(e.get("insertion_auc")), _ci(e.get("insertion_gain")),
                     _ci(e.get("sanity_spearman_final")), _ci(e.get("sanity_ssim_final")), verdict, _ci(e.get("localisation_lift")),
                     _ci(e.get("explain_seconds_per_sample")), fmt((e.get("explain_peak_memory_increase") or {}).get("mean"))])
    r = f["random_order"]
    rows.append(["random order", _ci(r.get("deletion_auc")), "0", _ci(r.get("insertion_auc")), "0", "—", "—", "—", "—", "—", "—"])
    return table(["method", "deletion AUC ↓", "gain vs random", "insertion AUC ↑", "gain vs random", "Spearman after full rand.",
                  "SSIM after full rand.", "sanity", "localisation lift", "s / sample", "peak mem. increase (B)"], rows)


def interpretability_markdown(f: dict[str, Any], figures: list[Path]) -> str:
    out = [f"*{f['question']}*", "", f"{f['trials']} trials. Intervals: {f['interval_method']}. Deletion/insertion: features replaced "
           "by / restored from the baseline 0 (the train mean of standardised data) in decreasing attribution order; the "
           "probability of the predicted class is tracked (Petsiuk et al. 2018). Sanity: cascading randomisation from the "
           f"output layer down (Adebayo et al. 2018); a method **fails** when its Spearman similarity after every layer "
           f"is randomised stays above {f['sanity_threshold']}.", "", "### Per method (all trials pooled)", "", _method_table(f), ""]
    if f["agreement"]:
        out += ["### Agreement between methods (Spearman of |attributions| per sample, averaged)", "",
                table(["pair", "mean rho"], [[a["pair"].replace("|", " vs "), _ci(a)] for a in f["agreement"]]), ""]
    p = f.get("planted")
    if p:
        out += ["### Planted label patch: does the model use it, and do the attributions find it?", "",
                f"Patch area share: {fmt(p['patch_area_share'])} of the input. Accuracy drop when the patch carries a wrong class: "
                f"{_ci(p['reliance_drop_all'])} (all trials).", "",
                table(["setting", "parameters", "test acc. (clean)", "acc. (true patch)", "acc. (random patch)", "reliance drop"],
                      [[r["setting"], int(r["parameters"]), _ci(r["accuracy_clean"]), _ci(r["accuracy_true_patch"]),
                        _ci(r["accuracy_random_patch"]), _ci(r["reliance_drop"])] for r in p["by_setting"]]), ""]
    price = f["price_of_interpretability"]
    if price:
        out += ["### Price of interpretability (clean test split)", "",
                table(["interpretable model", "setting", "network acc.", "interpretable acc.", "gap (network − interpretable)"],
                      [[r["model"], r["setting"], _ci(r["network_accuracy"]), _ci(r["interpretable_accuracy"]), _ci(r["gap"])] for r in price]), ""]
    trend = [r for r in f["by_setting"] if r["metric"] in ("insertion_gain", "sanity_spearman_final")]
    if trend:
        out += ["### Faithfulness and sanity by setting (model size × training length)", "",
                table(["method", "metric", "setting", "parameters", "mean [interval]"],
                      [[r["method"], r["metric"], r["setting"], int(r["parameters"]), _ci(r)] for r in trend]), ""]
    out += [image(p) for p in figures]
    return "\n".join(out)


def interpretability_headlines(f: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for m, e in f["methods"].items():
        s = e.get("insertion_gain")
        if s and s["mean"] is not None:
            out.append({"finding": f"insertion AUC gain over random order ({m})", "value": s["mean"], "interval": s["interval"],
                        "unit": "probability", "provenance": "measured, t interval over trials"})
        s = e.get("sanity_spearman_final")
        if s and s["mean"] is not None:
            out.append({"finding": f"Spearman to trained maps after full randomisation ({m})", "value": s["mean"], "interval": s["interval"],
                        "unit": "rho", "provenance": "measured, t interval over trials"})
    p = f.get("planted")
    if p and p["reliance_drop_all"]["mean"] is not None:
        out.append({"finding": "accuracy drop when the planted patch is randomised", "value": p["reliance_drop_all"]["mean"],
                    "interval": p["reliance_drop_all"]["interval"], "unit": "fraction", "provenance": "measured"})
    for r in f["price_of_interpretability"]:
        if r is max((x for x in f["price_of_interpretability"] if x["model"] == r["model"]), key=lambda x: x["parameters"]):
            out.append({"finding": f"accuracy gap network − {r['model']} (largest network)", "value": r["gap"]["mean"],
                        "interval": r["gap"]["interval"], "unit": "fraction", "provenance": "measured, t interval over seeds"})
    return out
