"""The hparams study's section of the report and its headline rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...report.markdown import fmt, image, table


def _iv(iv) -> str:
    return f"[{fmt(iv[0])}, {fmt(iv[1])}]" if iv else "—"


def _importance(f: dict[str, Any]) -> list[str]:
    imp = f["importance"]
    if not imp.get("available"):
        return [f"Importance: not computed ({imp.get('reason')})."]
    rows = [[n, imp["params"][n]["mean"], _iv(imp["params"][n]["interval95"]), imp["params"][n]["top1_frequency"]] for n in imp["ranking"]]
    return ["### Which hyperparameters matter", f"{imp['method']}. Trials used: {imp['trials_used']}. Pairwise: {imp['pairwise']}.", "",
            table(["hyperparameter", "importance (mean)", "95% interval", "ranked first"], rows)]


def _tunability(f: dict[str, Any]) -> list[str]:
    t = f["tunability"]
    if not t.get("available"):
        return [f"Tunability: not computed ({t.get('reason')})."]
    out = ["### How much tuning buys (tunability, Probst et al. 2019)",
           f"Default configuration {t['default_config']}: {fmt(t['default'])} (sd over seeds {fmt(t['default_sd_over_seeds'])})."]
    if "tuned" in t:
        out.append(f"Best tuned {t['tuned_config']}: {fmt(t['tuned'])}; gain {fmt(t['gain'])}, 95% interval {_iv(t['gain_interval95'])} ({t['method']}).")
    rows = [[n, v["gain"], str(v["best_value"]), sum(v["diverged"])] for n, v in t["per_hparam"].items()]
    out += ["", f"One at a time around the default (reference {fmt(t['oat_reference'])}):", "",
            table(["hyperparameter", "gain from tuning it alone", "best value", "diverged values"], rows)]
    return out


def _variance(f: dict[str, Any]) -> list[str]:
    sv = f["seed_variance"]
    if not sv.get("available"):
        return [f"Seed vs hyperparameter variance: not computed ({sv.get('reason')})."]
    return ["### Seeds vs hyperparameters",
            f"Seeds explain {fmt(sv['seed_share'])} of the outcome variance (95% interval {_iv(sv['seed_share_interval95'])}), "
            f"hyperparameters the rest ({fmt(sv['hparam_share'])}): seed variance {fmt(sv['seed_variance'])} over "
            f"{sv['configs_over_seeds']} configurations, total variance {fmt(sv['total_variance'])} over {sv['search_trials']} search trials. {sv['method']}."]


def _transfer(f: dict[str, Any]) -> list[str]:
    tr = f["transfer"]
    if not tr.get("available"):
        return [f"Transfer: not computed ({tr.get('reason')})."]
    sf, s1 = tr["spearman_final"], tr["spearman_first_rung"]
    ab, ba = tr["regret_a_to_b"], tr["regret_b_to_a"]
    return ["### Does a good configuration carry over?",
            f"{tr['configs']} configurations on {tr['task_a']} and {tr['task_b']}. Spearman (full budget on both, n={sf['n']}): "
            f"{fmt(sf['rho'])} {_iv(sf.get('interval95'))}; after the first epoch (n={s1['n']}): {fmt(s1['rho'])} {_iv(s1.get('interval95'))}.",
            f"Regret of using {tr['task_a']}'s best on {tr['task_b']}: {fmt(ab['regret'])}; the reverse: {fmt(ba['regret'])}. {tr['method']}."]


def _failures_and_cost(f: dict[str, Any]) -> list[str]:
    fl, c = f["failures"], f["cost"]
    out = ["### Where training fails", f"{fl['diverged']} of {fl['trials']} search/one-at-a-time trials diverged ({fl['by_cause']}).", ""]
    rows = [[n, b["bin"], b["trials"], b["diverged_share"]] for n, bins in fl["by_hparam"].items() for b in bins if b["diverged_share"]]
    if rows:
        out += [table(["hyperparameter", "range", "trials", "diverged share"], rows), ""]
    out += ["### Cost of tuning",
            f"{c['trials']} trials ({c['by_status']}), {fmt(c['trial_hours'])} trial-hours, {fmt(c['energy_j'])} J ({c['energy_provenance']}). "
            f"ASHA stopped {c['stopped_early']} of {c['search_trials']} search trials, saving {fmt(c['time_saved_fraction'])} of their time, "
            f"{fmt(c['steps_saved_fraction'])} of their steps and {fmt(c['energy_saved_fraction'])} of their energy "
            "(vs running each to the end, projected as cost x planned/run steps)."]
    return out


def hparams_markdown(f: dict[str, Any], figures: list[Path]) -> str:
    s = f["search"]
    parts = [f"**Question.** {f['question']}", f"Objective: {f['objective']}.",
             f"Search: {s['algorithm']}, {s['trials']} trials, ASHA {s['asha']}. Best: {fmt(s['best_objective'])} "
             f"(test {fmt(s['best_test_accuracy'])}) at {s['best_config']}.", ""]
    for block in (_importance, _tunability, _variance, _transfer, _failures_and_cost):
        parts += block(f) + [""]
    parts += [image(p) for p in figures]
    return "\n".join(parts)


def hparams_headlines(f: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    imp = f["importance"]
    if imp.get("available"):
        top = imp["ranking"][0]
        p = imp["params"][top]
        out.append({"finding": f"most important hyperparameter: {top} (fANOVA)", "value": p["mean"], "interval": p["interval95"],
                    "unit": "variance share", "provenance": f"bootstrap; ranked first in {p['top1_frequency']:.0%} of resamples"})
    t = f["tunability"]
    if t.get("available") and "gain" in t:
        out.append({"finding": "tunability: best tuned - default (val accuracy)", "value": t["gain"], "interval": t["gain_interval95"],
                    "unit": "accuracy", "provenance": "measured, mean over seeds"})
    sv = f["seed_variance"]
    if sv.get("available"):
        out.append({"finding": "share of outcome variance from seeds", "value": sv["seed_share"], "interval": sv["seed_share_interval95"],
                    "unit": "fraction", "provenance": "variance decomposition, bootstrap"})
    tr = f["transfer"]
    if tr.get("available"):
        out.append({"finding": f"rank correlation of configurations {tr['task_a']} vs {tr['task_b']}", "value": tr["spearman_first_rung"]["rho"],
                    "interval": tr["spearman_first_rung"].get("interval95"), "unit": "Spearman", "provenance": "after first epoch, bootstrap"})
    c = f["cost"]
    out.append({"finding": "search time saved by ASHA", "value": c["time_saved_fraction"], "interval": None, "unit": "fraction",
                "provenance": "projected from steps run"})
    return out
