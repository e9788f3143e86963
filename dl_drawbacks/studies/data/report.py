"""The data study's section of the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...report.markdown import fmt, image, table


def _interval(v: list | None) -> str:
    if not v:
        return "—"
    return f"[{fmt(v[0]) if v[0] is not None else '—'}, {fmt(v[1]) if v[1] is not None else 'unbounded'}]"


def _target_cell(t: dict | None) -> list[str]:
    if t is None:
        return ["—"] * 3
    if t["refused"]:
        return ["refused", "; ".join(t["reasons"]), "—"]
    return [fmt(t["median"]) if t["median"] is not None else "unreachable", _interval(t["interval90"]), fmt(t["p_unreachable"])]


def data_markdown(f: dict[str, Any], figures: list[Path]) -> str:
    out = [f"*{f['question']}*", "",
           f"{f['trials']} trials ({f['diverged_trials']} diverged, left out of the fits). Test error taken "
           f"{'at the evaluation with the lowest validation loss (early stopping, validation held out before subsampling)' if f['selection'] == 'best_val' else 'at the end of training'}; "
           "the test split is the same at every size.", "",
           f"Curve family chosen by {f['selection_method']}. Intervals: {f['interval_method']}.", ""]
    rows = []
    for kind, key in (("deep learning", "models"), ("baseline", "baselines")):
        for name, c in f[key].items():
            e = c["exponent"]
            rows.append([name, kind, c["family"] or "—", fmt(e["b"]), _interval(e["interval95"]), fmt(e.get("c")),
                         "yes" if c["extrapolation_allowed"] else "**refused**: " + "; ".join(c["refusal_reasons"]),
                         *_target_cell(c["data_to_target"])])
    tgt = f["target_error"]
    out += ["### Learning curves", "",
            table(["model", "kind", "family", "exponent b (pow3)", "95% interval", "asymptote c (pow3)", "extrapolation",
                   f"n for error {tgt} (median)", "90% interval", "P(unreachable)"], rows), ""]
    sel = []
    for name, c in {**f["models"], **f["baselines"]}.items():
        sel.append([name] + [fmt(c["selection"].get(fam, {}).get("holdout_abs_error")) for fam in ("pow3", "pow4", "mmf4", "wbl4")])
    out += ["Held-out extrapolation error at the largest anchor per family (|predicted − observed| test error):", "",
            table(["model", "pow3", "pow4", "mmf4", "wbl4"], sel), ""]
    cross = []
    for m, per in f["crossover"].items():
        for b, c in per.items():
            fit = c["fitted"]
            fitted = ("refused" if fit["refused"] else
                      f"{fmt(fit['median']) if fit['median'] is not None else 'none by ' + fmt(fit['n_cap'])} {_interval(fit['interval90'])}, "
                      f"P(no crossover) {fmt(fit['p_no_crossover'])}")
            cross.append([m, b, fmt(c["observed_crossover_n"]) if c["observed_crossover_n"] else "not within the anchors",
                          ", ".join(fmt(x) for x in c["dl_better_at_n"]) or "none", fitted])
    out += ["### Deep learning against the classical baselines", "",
            table(["model", "baseline", "observed crossover n", "DL better at n", "fitted crossover (median [90%])"], cross), ""]
    out += [image(p) for p in figures]
    return "\n".join(out)
