"""The bias study's section of the report, and its headline rows for the cross-study summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...report.markdown import fmt, image, table


def _iv(pair: list | None) -> str:
    return f"[{fmt(pair[0])}, {fmt(pair[1])}]" if pair else "—"


def bias_markdown(f: dict[str, Any], figures: list[Path]) -> str:
    out = [f"*{f['question']}*", "",
           f"{f['trials']} trials on {', '.join(f['datasets'])}, seeds {f['seeds']}. Intervals {f['interval_method']}. "
           "Privileged = every listed attribute 1 (e.g. male, white); unprivileged = every listed attribute 0.", ""]
    for protected, h in f["headline"].items():
        share = h["setting"]["unprivileged_share"]
        out += [f"### {protected}: unmitigated model ({'natural composition' if share is None else f'unprivileged share {share}'})", ""]
        out += [table(["metric", "mean over seeds", "95% interval (seeds)", "bootstrap 95% (test samples)", "verdict"],
                      [[m, fmt(v["mean"]), _iv(v["interval95"]), _iv(v["bootstrap95"]), v["verdict"]] for m, v in h["metrics"].items()]), ""]
        out += [table(["group", "metric", "mean", "95% interval (seeds)", "bootstrap 95%"],
                      [[g["group"], g["metric"].removeprefix("group_"), fmt(g["mean"]), _iv(g["interval95"]), _iv(g["bootstrap95"])]
                       for g in h["groups"]]), ""]
    for protected, r in f["representation"].items():
        out += [f"### Representation sweep — {protected} ({r['unprivileged_group']} vs {r['privileged_group']})", ""]
        cols = ["accuracy_gap", "disparate_impact", "statistical_parity_difference", "equal_opportunity_difference", "average_odds_difference"]
        out += [table(["unprivileged share", *[c.replace("_", " ") for c in cols]],
                      [[fmt(p["unprivileged_share"]), *[f"{fmt(p[c]['mean'])} {_iv(p[c]['interval95'])}" if c in p else "—" for c in cols]]
                       for p in r["points"]]), ""]
        closes = r["accuracy_gap_closes_at"]
        said = ("the accuracy gap's interval contains 0 at every share tested" if r["accuracy_gap_closed_everywhere"] else
                f"the accuracy gap closes (95% interval contains 0) from share {fmt(closes)}" if closes is not None else
                "the accuracy gap does not close at any share tested")
        within = ", ".join(f"{m.replace('_', ' ')}: {fmt(s) if s is not None else 'never'}" for m, s in r["within_threshold_from_share"].items())
        out += [f"Privileged minus unprivileged accuracy; {said} (change from lowest to highest share: "
                f"{fmt(r['accuracy_gap_change'])}). Smallest share within the common threshold — {within}.", ""]
    for key, m in f["mitigation"].items():
        out += [f"### Mitigation — {key}", ""]
        out += [table(["mitigation", "accuracy", "accuracy cost vs none (paired by seed)", *m["table"][0]["metrics"].keys()],
                      [[r["mitigation"], f"{fmt(r['accuracy']['mean'])} {_iv(r['accuracy']['interval95'])}",
                        f"{fmt(r['accuracy_cost']['mean'])} {_iv(r['accuracy_cost']['interval95'])}",
                        *[fmt(v["mean"]) for v in r["metrics"].values()]] for r in m["table"]]), ""]
        best = (f"Best by {f['primary_metric'].replace('_', ' ')}: **{m['best']}** ({m['best_reason']}), accuracy cost "
                f"{fmt(m['best_accuracy_cost']['mean'])} {_iv(m['best_accuracy_cost']['interval95'])}." if m["best"] else m["best_reason"] + ".")
        out += [best, ""]
    out += [image(p) for p in figures]
    return "\n".join(out)


def bias_headlines(f: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for protected, h in f["headline"].items():
        for metric, v in h["metrics"].items():
            out.append({"finding": f"{metric.replace('_', ' ')} ({protected}) — {v['verdict']}", "value": v["mean"],
                        "interval": v["interval95"], "unit": "", "provenance": f"aif360 on test predictions, {v['n_seeds']} seeds"})
    for key, m in f["mitigation"].items():
        if m["best"]:
            c = m["best_accuracy_cost"]
            out.append({"finding": f"accuracy cost of best mitigation {m['best']} ({key})", "value": c["mean"],
                        "interval": c["interval95"], "unit": "fraction", "provenance": "paired by seed"})
    return out
