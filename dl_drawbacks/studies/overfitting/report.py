"""The overfitting study's section of the report and its headline rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...headline import Headline, from_interval, not_measurable
from ...report.markdown import fmt, image, table

OVER = "seeds × test samples"


def iv(v: dict | None, *, signed: bool = False) -> str:
    """'0.123 [0.100, 0.150]', the estimate alone where the interval is undefined, '—' when nothing."""
    if not v or v.get("estimate") is None:
        return "—"
    f = (lambda x: f"{x:+.3f}") if signed else fmt
    if v.get("low") is None:
        return f"{f(v['estimate'])} (no interval: {v.get('reason') or 'undefined'})"
    flat = " (zero width: no spread, not certainty)" if v["low"] == v["high"] else ""
    return f"{f(v['estimate'])} [{f(v['low'])}, {f(v['high'])}]{flat}"


def _cond(r: dict[str, Any]) -> str:
    noise = "random labels" if r.get("random_labels") else f"noise {fmt(r.get('label_noise'))}"
    size = f"n {fmt(r.get('n_train'))}, {fmt(r.get('epochs'))} ep"
    model = f"{r['model_family']} " if r.get("model_family") else ""
    pixels = ", shuffled pixels" if r.get("shuffle_pixels") else ""
    return f"{model}w {fmt(r.get('width'))}, {noise}{pixels}, {size}, {r.get('regularizer')}"


def _gap_section(f: dict[str, Any]) -> list[str]:
    rows = [
        [
            _cond(r),
            r["seeds"],
            iv(r["test_accuracy"]),
            iv(r["train_accuracy_uncorrupted"]),
            iv(r["gap_clean"], signed=True),
            iv(r["gap_all_clean_labels"], signed=True),
            iv(r["memorization_rate"]),
            iv(r["loss_gap_clean"], signed=True),
            iv(r["gap_clean_best_val"], signed=True),
            iv(r["early_stop_epoch"]),
        ]
        for r in f["gap"]
    ]
    return [
        "### Generalization gap and memorization, per condition",
        "",
        f"Gap = {f['gap_definition']}.",
        "",
        table(
            [
                "condition",
                "seeds",
                "test accuracy",
                "train acc. (uncorrupted samples)",
                "gap",
                "gap, all train samples on clean labels",
                "memorization of flipped labels",
                "loss gap (test − uncorrupted train)",
                "gap at best-val epoch",
                "best-val epoch",
            ],
            rows,
        ),
        "",
    ]


def _double_descent_section(dd: dict[str, Any]) -> list[str]:
    out = ["### Test error against width (model-wise double descent)", ""]
    if not dd.get("available"):
        return out + [f"Not available: {dd.get('reason')}.", ""]
    for c in dd["conditions"]:
        out += [
            f"**{c['label']}** — {c['verdict']}; interpolation threshold: "
            f"{('width ' + str(c['interpolation_threshold'])) if c['interpolation_threshold'] else 'not reached'} "
            f"({c['threshold_rule']}).",
            "",
        ]
        if c.get("candidate_width") is not None and "excess_over_left" in c:
            out += [
                f"Excess error of width {c['candidate_width']} over width {c['left_width']}: "
                f"{iv(c['excess_over_left'], signed=True)}, "
                f"over width {c['right_width']}: {iv(c['excess_over_right'], signed=True)} "
                f"(paired, {c['level']:.2%} nested intervals: one-sided α / ((W − 2)(W − 1)), a union bound "
                "over every pair the selection could pick).",
                "",
            ]
        shrink = c.get("shrink_without_noise") or {}
        if shrink.get("available"):
            out += [
                f"Without label noise ({shrink['clean_label']}), at the same widths: excess change over width "
                f"{shrink['widths'][1]} {iv(shrink['over_left'], signed=True)}, over width {shrink['widths'][2]} "
                f"{iv(shrink['over_right'], signed=True)} ({shrink['definition']}; > 0: the peak shrinks).",
                "",
            ]
        out += [
            table(
                ["width", "seeds", "test error", "train error (training labels)", "train error (clean labels)"],
                [
                    [
                        p["width"],
                        p["seeds"],
                        iv(p["test_error"]),
                        iv(p["train_error_labels"]),
                        iv(p["train_error_clean"]),
                    ]
                    for p in c["curve"]
                ],
            ),
            "",
        ]
    return out


def _regularization_section(reg: dict[str, Any]) -> list[str]:
    out = ["### Regularization ablation (strengths tuned on validation, ranked on test)", ""]
    if not reg.get("available"):
        return out + [f"Not available: {reg.get('reason')}.", ""]
    out += [f"Rule: {reg['rule']}.", ""]
    for c in reg["conditions"]:
        head = f"**width {fmt(c['width'])}, label noise {fmt(c['label_noise'])}, n {fmt(c['n_train'])}, "
        head += f"{fmt(c['epochs'])} epochs**"
        if not c.get("available"):
            out += [f"{head}: not available: {c['reason']}.", ""]
            continue
        out += [
            f"{head}: {c['verdict']}.",
            "",
            table(
                [
                    "regularizer",
                    "seeds",
                    "test accuracy",
                    "Δ test accuracy vs none",
                    "clean-label gap",
                    "Δ gap vs none",
                ],
                [
                    [
                        e["regularizer"],
                        e["seeds"],
                        iv(e["test_accuracy"]),
                        iv(e.get("delta_test_accuracy"), signed=True),
                        iv(e["gap_clean"], signed=True),
                        iv(e.get("delta_gap"), signed=True),
                    ]
                    for e in c["table"]
                ],
            ),
            "",
        ]
        for e in c["table"]:
            if e.get("grid"):
                out += [
                    f"*{e['regularizer']}*: strength chosen on validation per seed ({len(e['grid'])} candidates, "
                    "0 = none included); test accuracy is reported only for the tuned choice.",
                    "",
                    table(
                        ["strength", "seeds", "mean validation loss", "mean validation accuracy", "chosen in seeds"],
                        [[g["strength"], g["seeds"], fmt(g["val_loss_mean"]), fmt(g["val_accuracy_mean"]),
                          g["selected_in_seeds"]] for g in e["grid"]],
                    ),
                    "",
                ]
    return out


def _memorization_section(m: dict[str, Any]) -> list[str]:
    out = ["### Random labels (memorization, Zhang et al. 2017)", ""]
    if not m.get("available"):
        return out + [f"Not available: {m.get('reason')}.", ""]
    out += [
        f"Memorization ratio = {m['ratio_definition']}; epochs to fit = {m['fit_definition']}.",
        "",
        table(
            [
                "model",
                "width",
                "n",
                "epochs",
                "seeds",
                "train acc. (random)",
                "memorization ratio",
                "test acc. (random)",
                "test acc. (true labels)",
                "epochs to fit random (fitted)",
                "epochs to fit true (fitted)",
                "slowdown",
            ],
            [
                [
                    (r.get("model_family") or "—") + (", shuffled pixels" if r.get("shuffle_pixels") else ""),
                    fmt(r["width"]),
                    fmt(r["n_train"]),
                    fmt(r["epochs"]),
                    r["seeds"],
                    iv(r["train_accuracy_random"]),
                    iv(r["memorization_ratio"]),
                    iv(r["test_accuracy_random"]),
                    iv(r["test_accuracy_true"]),
                    f"{fmt(r['epochs_to_fit_random'])} ({r['fitted_random']})",
                    f"{fmt(r['epochs_to_fit_true'])} ({r['fitted_true']})",
                    fmt(r["fit_slowdown"]),
                ]
                for r in m["conditions"]
            ],
        ),
        "",
    ]
    return out


def _shuffled_true_labels(r: dict[str, Any]) -> dict[str, Any]:
    """A pixel-shuffle condition (true labels, pixels shuffled: not keys of its own) as ``_cond`` reads a condition."""
    return {**r, "label_noise": 0.0, "random_labels": 0.0, "shuffle_pixels": 1.0}


def _pixel_shuffle_section(p: dict[str, Any]) -> list[str]:
    out = ["### Shuffled pixels (Zhang et al. 2017)", ""]
    if not p.get("available"):
        return out + [f"Not available: {p.get('reason')}.", ""]
    out += [
        f"{p['definition']}; epochs to fit = {p['fit_definition']}.",
        "",
        table(
            [
                "condition",
                "seeds",
                "train acc. (shuffled)",
                "train acc. (in place)",
                "epochs to fit shuffled (fitted)",
                "epochs to fit in place (fitted)",
                "slowdown (medians)",
                "slowdown per seed",
                "test acc. (shuffled)",
                "test acc. (in place)",
                "test acc. change",
            ],
            [
                [
                    _cond(_shuffled_true_labels(r)),
                    r["seeds"],
                    iv(r["train_accuracy_shuffled"]),
                    iv(r["train_accuracy_true"]),
                    f"{fmt(r['epochs_to_fit_shuffled'])} ({r['seeds_fitted_shuffled']} of {r['seeds']})",
                    f"{fmt(r['epochs_to_fit_true'])} ({r['seeds_fitted_true']} of {r['seeds_true']})",
                    fmt(r["fit_slowdown"]),
                    iv(r["fit_slowdown_per_seed"]),
                    iv(r["test_accuracy_shuffled"]),
                    iv(r["test_accuracy_true"]),
                    iv(r["test_accuracy_change"], signed=True),
                ]
                for r in p["conditions"]
            ],
        ),
        "",
    ]
    return out


def _calibration_section(c: dict[str, Any]) -> list[str]:
    rows = [
        [
            _cond(r),
            r["seeds"],
            iv(r["ece_raw"]),
            iv(r["ece_ts"]),
            iv(r.get("ece_ts_over_raw")),
            fmt(r["ece_calibrated_floor"]),
            iv(r["nll_raw"]),
            iv(r["nll_ts"]),
            iv(r["brier_raw"]),
            iv(r["temperature"]),
            r["temperature_at_bound"],
        ]
        for r in c["conditions"]
    ]
    return [
        "### Calibration (test split), per condition",
        "",
        f"{c['method']}.",
        "",
        table(
            [
                "condition",
                "seeds",
                "ECE raw",
                "ECE temp. scaled",
                "ECE ratio scaled / raw",
                "ECE of a calibrated model (floor)",
                "NLL raw",
                "NLL temp. scaled",
                "Brier raw",
                "temperature",
                "T at bound",
            ],
            rows,
        ),
        "",
    ] + [
        f"Raw test ECE per doubling of the width ({fmt(w['label_noise'])} label noise, {w['regularizer']}, widths "
        f"{w['widths'][0]}–{w['widths'][-1]}): {iv(w['slope'], signed=True)} ({w['definition']}; Guo et al. 2017 "
        "Fig. 2 find it > 0)."
        for w in c.get("ece_width_slope") or []
    ] + [""]


def overfitting_markdown(f: dict[str, Any], figures: list[Path]) -> str:
    out = [
        f"*{f['question']}*",
        "",
        f"{f['trials']} trials ({f['diverged_trials']} diverged, {f['usable_trials']} usable), "
        f"seeds {f['seeds']}. Intervals: {f['interval_method']}. Note: {f['validation_note']}.",
        "",
    ]
    if not f.get("available"):
        return "\n".join(out + [f"Not measurable: {f.get('reason')}."])
    out += _gap_section(f)
    out += [f"Headline gaps: {f['headline_design']['note']}.", ""]
    out += _double_descent_section(f["double_descent"])
    size = f["train_size"]
    if size.get("available"):
        out += [
            "### Gap against training-set size",
            "",
            table(
                ["n train", "seeds", "gap", "test accuracy"],
                [
                    [fmt(r["n_train"]), r["seeds"], iv(r["gap_clean"], signed=True), iv(r["test_accuracy"])]
                    for r in size["conditions"]
                ],
            ),
            "",
        ]
    out += _regularization_section(f["regularization"]) + _memorization_section(f["memorization"])
    out += _pixel_shuffle_section(f.get("pixel_shuffle") or {"reason": "not analysed (findings older than it)"})
    out += _calibration_section(f["calibration"])
    return "\n".join(out + [image(p) for p in figures])


def _headline(key: str, finding: str, v: dict[str, Any], unit: str, method: str = "", **policy: Any) -> Headline:
    over = f" (95% over {OVER})" if v.get("low") is not None and v.get("over") == "seeds x test samples" else ""
    return from_interval("overfitting", key, finding + over, v, unit=unit, method=method, **policy)


def overfitting_headlines(f: dict[str, Any]) -> list[Headline]:
    """Gap (excludes 0), memorization, ECE, double descent (a resolved peak), the best regularizer (its lead over
    the runner-up resolved) and the random-label memorization ratio, by the headline policy (``headline``)."""
    if not f.get("available"):
        return [not_measurable("overfitting", "overfitting", "overfitting study",
                               f.get("reason") or "no analysis")]
    by_cond = {r["condition"]: r for r in f["gap"]}
    cal = {r["condition"]: r for r in f["calibration"]["conditions"]}
    out = []
    apart = "" if f["headline_design"]["shared"] else f" ({f['headline_design']['note']})"
    for noise, cond in f["headline_conditions"].items():
        r = by_cond[cond]
        out.append(_headline(f"gap/{cond}", f"generalization gap (uncorrupted train samples − test), {_cond(r)}"
                             + apart, r["gap_clean"], "accuracy", null=0.0))
        if r["memorization_rate"].get("estimate") is not None:
            out.append(_headline(f"memorization/{cond}", f"memorization of flipped labels, {_cond(r)}",
                                 r["memorization_rate"], "fraction"))
        c = cal[cond]
        out.append(_headline(f"ece/{cond}",
                             f"test ECE raw → {fmt(c['ece_ts'].get('estimate'))} after temperature scaling, {_cond(r)}",
                             c["ece_raw"], "fraction", "15 bins"))
    for c in f["double_descent"].get("conditions") or []:
        peak = bool(c.get("peak"))
        out.append(Headline("overfitting", f"double_descent/{c['label']}",
                            f"double descent ({c['label']}): {c['verdict']}; interpolation threshold "
                            f"{c['interpolation_threshold'] or 'not reached'}",
                            c["candidate_width"] if peak else None, None, "width", "measured", peak,
                            None if peak else ("no resolved peak, so no peak width (the verdict says why)"
                                               if c.get("design_resolves") else
                                               f"not measurable: the design cannot resolve a peak: {c.get('design')}"),
                            method="paired nested test"))
    for c in f["regularization"].get("conditions") or []:
        if c.get("available") and c.get("best"):
            out.append(_headline(f"best_regularizer/{fmt(c['label_noise'])}",
                                 f"best regularizer by test accuracy at noise {fmt(c['label_noise'])}, strengths "
                                 f"tuned on validation: {c['best']}",
                                 c["table"][0]["test_accuracy"], "accuracy",
                                 requires=(bool(c.get("best_resolved")), "its lead over the runner-up "
                                           f"{c.get('runner_up')} is not resolved")))
    for m in f["memorization"].get("conditions") or []:
        family = m.get("model_family")
        other = [family] if family not in (None, "mlp") else []  # the spec's default family unnamed: keys stand
        other += ["shuffled pixels"] if m.get("shuffle_pixels") else []
        out.append(_headline("/".join([f"memorization_ratio/{fmt(m['width'])}", *other]),
                             f"memorization ratio on random labels ({', '.join(other + [''])}width {fmt(m['width'])}, "
                             f"n {fmt(m['n_train'])})",
                             m["memorization_ratio"], "fraction", "(train acc − chance)/(1 − chance), t over seeds"))
    for p in (f.get("pixel_shuffle") or {}).get("conditions") or []:
        cond = _cond(_shuffled_true_labels(p))
        out.append(_headline(f"pixel_shuffle_train/{cond}",
                             f"train accuracy with shuffled pixels, true labels ({cond}; fitted by "
                             f"{p['seeds_fitted_shuffled']} of {p['seeds']} seeds)",
                             p["train_accuracy_shuffled"], "fraction", "t over seeds"))
        out.append(_headline(f"pixel_shuffle_test/{cond}", f"test accuracy, shuffled − pixels in place ({cond})",
                             p["test_accuracy_change"], "accuracy", null=0.0))
    return out
