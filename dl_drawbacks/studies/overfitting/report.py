"""The overfitting study's section of the report and its headline rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...report.markdown import fmt, image, table


def _mi(v: dict | None) -> str:
    if not v or v.get("mean") is None:
        return "—"
    lo, hi = v["interval"]
    return f"{fmt(v['mean'])} [{fmt(lo)}, {fmt(hi)}]"


def overfitting_markdown(f: dict[str, Any], figures: list[Path]) -> str:
    out = [f"*{f['question']}*", "", f"{f['trials']} trials ({f['diverged_trials']} diverged). Gap = {f['gap_definition']}. "
           f"Intervals: {f['interval_method']}.", "", "### Generalization gap and early stopping", ""]
    out += [table(["label noise", "trials", "gap at end", "gap at best-val epoch", "early-stopping epoch", "epochs run",
                   "test acc. at end", "test acc. at best-val epoch"],
                  [[fmt(g["label_noise"]), g["trials"], _mi(g["gap_final"]), _mi(g["gap_best_val"]), _mi(g["early_stop_epoch"]),
                    g["epochs_run"], _mi(g["test_accuracy_final"]), _mi(g["test_accuracy_best_val"])] for g in f["gap"]]), ""]
    w = f.get("width")
    if w:
        out += ["### Test error against width (model-wise double descent)", "",
                table(["label noise", "test error by width", "peak width (interior)", "best width"],
                      [[k, ", ".join(f"{c['width']}: {fmt(c['mean'])}" for c in v["curve"]), fmt(v["peak_width"]) if v["peak_width"] else "none",
                        fmt(v["best_width"])] for k, v in w["per_noise"].items()]), "",
                f"Rule: {w['rule']}. Peak moves with noise: {w['peak_moves_with_noise'] if w['peak_moves_with_noise'] is not None else 'not determinable (fewer than two noise levels with an interior peak)'}.", ""]
    if f.get("train_size"):
        out += ["### Gap against training-set size", "",
                table(["n train", "gap at end", "test error"], [[r["n_train"], _mi(r), fmt(r["test_error"])] for r in f["train_size"]]), ""]
    r = f.get("regularization")
    if r and "table" in r:
        out += ["### Regularization ablation", "",
                f"Reference (no regularizer): gap {fmt(r['reference_gap'])}, test accuracy {fmt(r['reference_test_accuracy'])}. "
                f"Best: **{r['best'] or 'none closes the gap'}** ({r['rule']}).", "",
                table(["regularizer", "gap", "test accuracy", "gap closed", "accuracy lost", "gap closed / accuracy lost"],
                      [[x["regularizer"], _mi(x["gap"]), _mi(x["test_accuracy"]), fmt(x["gap_closed"]), fmt(x["accuracy_lost"]),
                        fmt(x["gap_closed_per_accuracy_lost"]) if x["gap_closed_per_accuracy_lost"] is not None else ("free" if x["accuracy_lost"] <= 0 else "—")]
                       for x in r["table"]]), ""]
    m = f.get("memorization")
    if m:
        out += ["### Random labels (memorization)", "",
                f"On shuffled labels the network reaches train accuracy {_mi(m['train_accuracy_random'])} against chance {fmt(m['chance'])}, "
                f"test accuracy {_mi(m['test_accuracy_random'])}; memorization ratio {_mi(m['memorization_ratio'])} ({m['ratio_definition']}). "
                f"Epochs to reach the fit threshold: random {fmt(m['epochs_to_fit_random'])} ({m['fitted_random']} fitted within {m['epochs_run']} epochs), "
                f"true {fmt(m['epochs_to_fit_true'])} ({m['fitted_true']}); ratio {fmt(m['epochs_ratio'])}.", ""]
    c = f["calibration"]
    out += ["### Calibration (test split)", "", f"{c['method']}.", "",
            table(["metric", "raw", "after temperature scaling"],
                  [[k.upper(), _mi(c[f"{k}_raw"]), _mi(c[f"{k}_ts"])] for k in ("ece", "nll", "brier")]), "",
            f"Temperature {_mi(c['temperature'])}; ECE reduced in {fmt(c['share_ece_reduced_by_ts'])} of trials. "
            f"Reliability diagram: trial `{f['reliability_trial']}`.", ""]
    out += [image(p) for p in figures]
    return "\n".join(out)


def overfitting_headlines(f: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for g in f["gap"]:
        for key, what in (("gap_final", "at end"), ("gap_best_val", "at best-validation epoch")):
            out.append({"finding": f"train−test accuracy gap {what} (label noise {g['label_noise']:g})", "value": g[key]["mean"],
                        "interval": g[key]["interval"], "unit": "accuracy", "provenance": "measured, seed bootstrap 95%"})
    m = f.get("memorization")
    if m:
        out.append({"finding": "memorization ratio on random labels", "value": m["memorization_ratio"]["mean"],
                    "interval": m["memorization_ratio"]["interval"], "unit": "fraction", "provenance": "measured, (train acc − chance)/(1 − chance)"})
    c = f["calibration"]
    for k in ("ece_raw", "ece_ts"):
        out.append({"finding": f"test ECE ({'raw' if k == 'ece_raw' else 'after temperature scaling'}, mean over trials)", "value": c[k]["mean"],
                    "interval": c[k]["interval"], "unit": "fraction", "provenance": "measured, 15 bins"})
    r = f.get("regularization")
    if r and r.get("best"):
        best = next(x for x in r["table"] if x["regularizer"] == r["best"])
        out.append({"finding": f"best regularizer: {r['best']} (gap closed)", "value": best["gap_closed"], "interval": None,
                    "unit": "accuracy", "provenance": "measured, vs unregularized"})
    return out
