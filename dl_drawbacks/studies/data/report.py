"""The data study's section of the report, and its headline rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...headline import Headline, from_interval, from_verdict, not_measurable
from ...report.markdown import fmt, image, table
from .crossover import DIRECTIONS


def _iv(low: Any, high: Any) -> str:
    return f"[{fmt(low) if low is not None else '—'}, {fmt(high) if high is not None else 'unbounded'}]"


def _target_cells(t: dict | None) -> list[str]:
    if t is None:
        return ["—"] * 4
    if not t["available"]:
        return ["not available", t["reason"], "—", "—"]
    spread = t["family_spread"]
    return [
        f"{fmt(t['median']) if t['median'] is not None else 'unreachable'} ({t['provenance']})",
        _iv(*t["interval"]),
        fmt(t["p_unreachable"]),
        f"{_iv(spread['low'], spread['high'])} over {', '.join(t['families'])}",
    ]


def _curve_rows(f: dict[str, Any]) -> list[list[str]]:
    rows = []
    for kind, key in (("deep learning", "models"), ("baseline", "baselines")):
        for name, c in f.get(key, {}).items():
            if not c.get("available"):
                rows.append([name, kind, "—", "—", "—", c.get("reason", "not available"), *["—"] * 4])
                continue
            e = c["exponent"]
            b = (
                f"{fmt(e['b'])} {_iv(e['interval']['low'], e['interval']['high'])} ({e['family']})"
                if e["available"]
                else e["reason"]
            )
            degenerate = "; ".join(f"{k}: {v['why']}" for k, v in c["families"].items() if not v["passes"]) or "none"
            rows.append(
                [
                    name,
                    kind,
                    c["family"] or "—",
                    b,
                    ", ".join(c["passing_families"]) or "none",
                    degenerate,
                    *_target_cells(c["data_to_target"]),
                ]
            )
    return rows


def _fitted(fit: dict) -> str:
    if not fit["available"]:
        return f"not available: {fit['reason']}"
    parts = []
    for d, say in DIRECTIONS.items():
        r = fit[d]
        if r["median"] is None:
            parts.append(f"{say}: none by {fmt(fit['n_cap'])}")
        else:
            parts.append(
                f"{say} at n ≈ {fmt(r['median'])} "
                f"{_iv(*r['interval'])}{' (extrapolated)' if r['extrapolated'] else ''}, "
                f"P(none) {fmt(r['p_none'])}"
            )
    return "; ".join(parts)


def _crossover_sections(f: dict[str, Any]) -> list[str]:
    out = []
    for m, per in f.get("crossover", {}).items():
        for b, c in per.items():
            out += [f"**{m} vs {b}** — {c.get('verdict', c.get('reason'))}", ""]
            if not c.get("per_anchor"):
                continue
            rows = [
                [
                    fmt(r["n"]),
                    fmt(r["dl_minus_baseline"]),
                    _iv(r["interval"]["low"], r["interval"]["high"]),
                    fmt(r.get("difference_test_samples")),
                    fmt(r.get("test_noise_samples")),
                    r["ahead"],
                ]
                for r in c["per_anchor"]
            ]
            out += [
                table(
                    [
                        "n",
                        "DL − baseline error",
                        f"{f['level']:.0%} interval",
                        "in test samples",
                        "test-set noise (samples, sd)",
                        "ahead",
                    ],
                    rows,
                ),
                "",
            ]
            for x in c["observed"]:
                out.append(f"- observed: {x['says']}" + ("" if x["resolved"] else f" — not resolved: {x['reason']}"))
            out += [f"- fitted: {_fitted(c['fitted'])}", ""]
    return out


def _model_gap_sections(f: dict[str, Any]) -> list[str]:
    out = []
    for g in f.get("model_gaps", []):
        a, b = g["first"], g["second"]
        ahead = {"first": a, "second": b, "unresolved": "unresolved"}
        rows = [[fmt(r["n"]), fmt(r["difference"]), _iv(r["interval"]["low"], r["interval"]["high"]),
                 fmt(r.get("difference_test_samples")), fmt(r.get("test_noise_samples")), ahead[r["lower_error"]]]
                for r in g["per_anchor"]]
        out += [f"**{a} − {b}** — {g['test']}", "",
                table(["n", f"{a} − {b} error", f"{f['level']:.0%} interval", "in test samples",
                       "test-set noise (samples, sd)", "lower error"], rows), ""]
    return out


def data_markdown(f: dict[str, Any], figures: list[Path]) -> str:
    if not f.get("available", True):
        return f"*{f['question']}*\n\nNot available: {f['reason']}."
    conv = f["convergence"]
    flagged = ", ".join(
        f"{r['model']} n={fmt(r['n'])} ({r['seeds'] - r['converged']} of {r['seeds']} seeds)"
        for r in conv["not_converged"]
    )
    out = [
        f"*{f['question']}*",
        "",
        f"{f['trials']} trials ({f['diverged_trials']} diverged, left out). Equal data: {f['equal_data']} "
        f"({f['validation_rows'] or '?'} validation rows). Test error on the same {f['test_samples'] or '?'} test "
        "samples at every n.",
        "",
        f"Convergence: budget max(min_steps, epochs × steps per epoch) per anchor; {conv['rule']}. "
        + (
            "Every anchor converged."
            if conv["all_converged"]
            else f"**Not converged (best evaluation within the last patience window)**: {flagged}."
        ),
        "",
        f"Families: {f['selection_method']}. Intervals: {f['interval_method']}.",
        "",
    ]
    tgt = f["target_error"]
    out += [
        "### Learning curves",
        "",
        table(
            [
                "learner",
                "kind",
                "family drawn",
                f"exponent b [{f['level']:.0%}]",
                "passing families",
                "failing / degenerate families",
                f"n for error {tgt} (median)",
                f"{f['level']:.0%} interval",
                "P(unreachable)",
                "range over families",
            ],
            _curve_rows(f),
        ),
        "",
    ]
    if f.get("model_gaps"):
        out += ["### Deep-learning families against each other", ""] + _model_gap_sections(f)
    out += ["### Deep learning against the classical baselines", ""] + _crossover_sections(f)
    out += [image(p) for p in figures]
    return "\n".join(out)


def data_headlines(f: dict[str, Any]) -> list[Headline]:
    """Exponent, data to the target error and crossovers per learner pair, by the headline policy: a fitted
    crossover is headlined only where the paired per-anchor differences resolve it (``crossover.resolve_fitted``)."""
    if not f.get("available", True):
        return [not_measurable("data", "data", "data requirements", f["reason"])]
    out = []
    for m, c in f["models"].items():
        if not c.get("available"):
            out.append(not_measurable("data", f"curve/{m}", f"learning curve ({m})", c["reason"]))
            continue
        e = c["exponent"]
        text = f"learning-curve exponent b, error ≈ c + a·n^-b ({m})"
        if e["available"]:
            out.append(from_interval("data", f"exponent/{m}", text, e["interval"], unit="exponent", label="fitted",
                                     estimate=e["b"], method=e["family"]))
        else:
            out.append(from_verdict("data", f"exponent/{m}", text, resolved=False, reason=e["reason"], label="fitted"))
        t = c.get("data_to_target")
        if t:
            text = f"train samples to reach test error {t['target_error']} ({m})"
            if not t["available"]:
                out.append(not_measurable("data", f"data_to_target/{m}", text, t["reason"]))
            else:
                label = "extrapolated" if t["provenance"] == "extrapolated" else "interpolated"
                iv = {"estimate": t["median"], "low": t["interval"][0], "high": t["interval"][1], "level": t["level"],
                      "n": {}, "over": "seeds x test samples x passing families", "reason": None}
                out.append(from_interval("data", f"data_to_target/{m}", text, iv, label=label,
                                         unit=f"samples (P unreachable {t['p_unreachable']:.2f})",
                                         method="median over the model-averaged bootstrap"))
        for b, x in f["crossover"].get(m, {}).items():
            verdict = x.get("verdict", x.get("reason"))
            open_anchors = [f"{r['n']:g}" for r in x.get("per_anchor", []) if not r["resolved"]]
            reason = (x.get("reason") if "verdict" not in x else
                      f"the paired difference is unresolved at n = {', '.join(open_anchors)}" if open_anchors else None)
            out.append(from_verdict("data", f"crossover/{m}/{b}", f"{m} vs {b}: {verdict}", resolved=reason is None,
                                    reason=reason, method="paired per anchor over seeds x test samples"))
            fit = x.get("fitted", {})
            for d, say in DIRECTIONS.items():
                if not fit.get("available") or fit[d]["median"] is None or fit[d]["p_none"] >= 0.5:
                    continue
                iv = {"estimate": fit[d]["median"], "low": fit[d]["interval"][0], "high": fit[d]["interval"][1],
                      "level": fit["level"], "n": {"paired_bootstrap_replicates": fit["replicates"]},
                      "reason": None}
                out.append(from_interval("data", f"fitted_crossover/{m}/{b}/{d}", f"{m} vs {b}: {say} at n (fitted)",
                                         iv, unit=f"samples (P none {fit[d]['p_none']:.2f})",
                                         label="extrapolated" if fit[d]["extrapolated"] else "interpolated",
                                         requires=(fit[d]["resolved"], f"{fit[d]['reason']}")))
    return out
