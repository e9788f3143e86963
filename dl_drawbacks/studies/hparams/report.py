"""The hparams study's section of the report and its headline rows; a finding that is not
available shows its reason, never a number."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...headline import Headline, from_interval, not_measurable
from ...report.markdown import fmt, image, table


def _iv(iv: dict | None) -> str:
    if not iv or iv.get("low") is None:
        return f"— ({iv['reason']})" if iv and iv.get("reason") else "—"
    return f"[{fmt(iv['low'])}, {fmt(iv['high'])}] ({iv['level']:.0%} {iv['method']}, n={sum(iv['n'].values())})"


OUTCOME_NOTE = ("by outcome: a trial whose loss exploded or became NaN counts as diverged even when ASHA stopped "
                "it first, so these counts can differ from the run statuses in the Trials section")


def _config(config: Any) -> str:
    """A configuration with its floats to 3 significant digits."""
    if not isinstance(config, dict):
        return str(config)
    return "{" + ", ".join(f"{k}: {fmt(v) if isinstance(v, float) else v}" for k, v in config.items()) + "}"


def _missing(title: str, finding: dict[str, Any]) -> list[str] | None:
    return None if finding.get("available", True) else [f"{title}: {finding.get('reason')}."]


def _search(f: dict[str, Any]) -> list[str]:
    s = f["search"]
    if not isinstance(s, dict) or "task_a" not in s:
        return _missing("Search", s) or []
    out = [f"Search: {s['algorithm']}, {s['scheduler']}, ASHA {s['asha']}; trial counts {OUTCOME_NOTE}."]
    for key in ("task_a", "task_b"):
        t = s[key]
        if t.get("available"):
            out.append(
                f"- {t['task']}: {t['trials']} trials {t['by_status']}; "
                f"chosen on validation: {_config(t['chosen_config'])} "
                f"(val {fmt(t['chosen_val'])}, {t['chosen_on']})."
            )
    return out


def _importance(f: dict[str, Any]) -> list[str]:
    imp = f["importance"]
    full, early = imp.get("full_budget") or imp, imp.get("early") or {}
    out = ["### Which hyperparameters matter"]
    out += _fanova_block("At the full budget (the objective users care about)", full)
    out += _fanova_block("Early (first rung of the ASHA search; not the importance at the full budget)", early)
    return out


def _fanova_block(title: str, imp: dict[str, Any]) -> list[str]:
    if not imp.get("available"):
        return [f"{title}: {imp.get('reason')}.", ""]
    rows = [
        [n, p["point"], _iv(p["interval"]) + _outside(p), fmt(p["top1_frequency"]), fmt(p["null_p95"]),
         fmt(p["null_p_value"])]
        for n, p in ((n, imp["params"][n]) for n in imp["ranking"])
    ]
    main, inter = imp["main_effects"], imp["interactions"]
    rows.append(["all main effects", main["estimate"], _iv(main), "", "", ""])
    rows.append(["interactions (1 - main effects)", inter["estimate"], _iv(inter), "", "", ""])
    ped = imp["ped_anova"]
    ped_line = (
        f"{ped['method']}: " + ", ".join(f"{n} {fmt(v)}" for n, v in ped["importance"].items())
        if ped.get("available")
        else f"PED-ANOVA: {ped.get('reason')}"
    )
    return [
        f"**{title}.** {imp['method']}. Objective: {imp['objective']}. "
        f"Configurations: {imp['configurations_used']} used "
        f"of {imp['configurations_sampled']} sampled ({imp['failed_or_missing']} failed or missing: "
        f"{imp['missing_configs'] or 'none'}). Log10 scale: {', '.join(imp['log10_scale']) or 'none'}. "
        f"Above the permutation null (p <= 0.05): {', '.join(imp['matters']) or 'none'}. Main effects explain "
        f"{fmt(main['estimate'])} of the variance together; interactions the other {fmt(inter['estimate'])}.",
        "",
        table(["hyperparameter", "share of variance (main effect)", "interval", "ranked first", "null 95th pct",
               "null p"], rows),
        "",
        ped_line + ".",
        "",
    ]


def _outside(p: dict[str, Any]) -> str:
    """A flag when the point importance lies outside its bootstrap interval: every resample moved the share the
    same way (duplicated configurations inflate small shares), more than the basic interval's reflection undoes."""
    iv, point = p.get("interval") or {}, p.get("point")
    low, high = iv.get("low"), iv.get("high")
    if not isinstance(point, (int, float)) or low is None or high is None or low <= point <= high:
        return ""
    return (" — the estimate lies outside its bootstrap interval"
            " (every resample shifted this share one way: bootstrap bias)")


def _gain(v: dict[str, Any]) -> str:
    if not v.get("available"):
        return str(v.get("reason"))
    interval = f" {_iv(v['interval'])}" if v.get("interval") else ""
    return f"{fmt(v['gain'])}{interval}" + (f" ({v['note']})" if v.get("note") else "")


def _tunability(f: dict[str, Any]) -> list[str]:
    t = f["tunability"]
    if not t.get("available"):
        return [f"Tunability: {t.get('reason')}."]
    o = t["overall"]
    out = [
        "### How much tuning buys (tunability, Probst et al. 2019)",
        f"Scored on the {t['scored_on']}. Default {_config(t['default_config'])}: "
        f"test {fmt(t['default_test']['estimate'])} "
        f"{_iv(t['default_test'])}.",
    ]
    if o.get("available"):
        out.append(
            f"Tuned {_config(o['tuned_config'])} (chosen among {o['chosen_among']} on validation; "
            f"its selection run scored "
            f"{fmt(o['selection_run_val'])} on validation): test {fmt(o['tuned_test'])}; gain {_gain(o)}."
        )
    else:
        out.append(f"Tuned: {o.get('reason')}.")
    check = t.get("search_check") or {}
    out.append(f"Search check: {check.get('verdict') or check.get('reason')}.")
    best = {n: v.get("best_value", "—") for n, v in t["per_hparam"].items()}
    rows = [[n, _gain(v), fmt(best[n]) if isinstance(best[n], float) else str(best[n])]
            for n, v in t["per_hparam"].items()]
    return out + [
        "",
        table(["hyperparameter", "test gain from tuning it alone (paired over seeds)", "chosen value"], rows),
    ]


def _variance(f: dict[str, Any]) -> list[str]:
    sv = f["seed_variance"]
    if not sv.get("available"):
        trains = f" ({sv['trains']})" if sv.get("trains") else ""
        return [f"Seed vs hyperparameter variance: {sv.get('reason')}{trains}."]
    c = sv["components"]
    return [
        "### Seeds vs hyperparameters",
        f"Design: {sv['design']} ({sv['configs_used']} complete, {sv['configs_dropped']} dropped; "
        f"{sv['sample_configs_that_train']} of the {sv['sample_configs']} full-budget sample configurations train; "
        f"{sv['trains']}). Hyperparameters "
        f"explain {fmt(sv['hparam_share'])} of the variance {_iv(sv['hparam_share_interval'])}, seeds "
        f"{fmt(sv['seed_share'])}. Components: hyperparameters {fmt(c['hyperparameters'])}, seed {fmt(c['seed'])}, "
        f"residual {fmt(c['residual'])}; negative estimates set to 0: {sv['negative_estimates_set_to_0'] or 'none'}. "
        f"{sv['method']}.",
    ]


def _transfer(f: dict[str, Any]) -> list[str]:
    tr = f["transfer"]
    if not tr.get("available"):
        return [f"Transfer: {tr.get('reason')}."]
    rows = [
        [
            r["eval"],
            r["configs"],
            fmt(r["rho"]) if r.get("available") else r["reason"],
            _iv(r.get("interval")) if r.get("available") else "—",
        ]
        for r in tr["by_rung"]
    ]
    ab, ba = tr["regret_a_to_b"], tr["regret_b_to_a"]

    def regret(v: dict[str, Any]) -> str:
        return (
            f"{fmt(v['regret'])} {_iv(v.get('interval'))}" + (f" ({v['note']})" if v.get("note") else "")
            if v.get("available")
            else str(v.get("reason"))
        )

    return [
        "### Does a good configuration carry over?",
        f"{tr['configs']} configurations searched on {tr['task_a']} and {tr['task_b']}, each with its own ASHA. "
        f"{tr['method']}.",
        "",
        table(["evaluation", "configs on both", "Spearman", "interval"], rows),
        "",
        f"Regret of using {tr['task_a']}'s choice on {tr['task_b']} (test accuracy): {regret(ab)}; the reverse: "
        f"{regret(ba)}.",
    ]


def _failures_and_cost(f: dict[str, Any]) -> list[str]:
    fl, c = f["failures"], f["cost"]
    out = _missing("Failures", fl) or [
        "### Where training fails",
        f"{fl['diverged']} of {fl['trials']} search, one-at-a-time and full-budget sample trials diverged "
        f"({fl['by_cause']}).",
    ]
    rows = [
        [n, b["bin"], b["trials"], b["diverged_share"]]
        for n, bins in fl.get("by_hparam", {}).items()
        for b in bins
        if b["diverged_share"]
    ]
    if rows:
        out += ["", table(["hyperparameter", "range", "trials", "diverged share"], rows)]
    if not c.get("available", True):
        return out + ["", f"Cost: {c.get('reason')}."]
    out += [
        "",
        "### Cost of tuning",
        f"{c['trials']} trials ({OUTCOME_NOTE}) {c['by_status']}, {fmt(c['train_hours'])} training hours, "
        f"{fmt(c['energy_j'])} J (provenance {c['energy_provenance']}). {c['method']}.",
        "",
    ]
    rows = [
        [
            task,
            b["trials"],
            b["stopped_early"],
            b["energy_j"],
            b["projected_full_budget_energy_j"],
            fmt(b["energy_saved_fraction"]),
            fmt(b["time_saved_fraction"]),
        ]
        for task, b in c["per_search"].items()
    ]
    sample = c.get("full_budget_sample") or {}
    if sample.get("trials"):
        out += [f"The full-budget sample (importance) cost {sample['trials']} trials, {fmt(sample['train_seconds'])} s "
                f"of training and {fmt(sample['energy_j'])} J.", ""]
    return out + [
        table(
            [
                "search",
                "trials",
                "stopped by ASHA",
                "energy J (measured window)",
                "J at full budget (projected)",
                "energy saved",
                "time saved",
            ],
            rows,
        )
    ]


def hparams_markdown(f: dict[str, Any], figures: list[Path]) -> str:
    parts = [f"**Question.** {f['question']}", f"Objective: {f.get('objective', '—')}.", ""]
    for block in (_search, _importance, _tunability, _variance, _transfer, _failures_and_cost):
        parts += block(f) + [""]
    parts += [image(p) for p in figures]
    return "\n".join(parts)


def hparams_headlines(f: dict[str, Any]) -> list[Headline]:
    """Importance, tunability, hyperparameter share of variance, transfer and ASHA's saving, by the headline policy."""
    out = []
    imp = f["importance"].get("full_budget") or {}
    if imp.get("available"):
        top, p = imp["ranking"][0], imp["params"][imp["ranking"][0]]
        null_p = p.get("null_p_value")
        out.append(from_interval(
            "hparams", "importance",
            f"most important hyperparameter at the full budget: {top} (fANOVA main effect, "
            f"{imp['configurations_used']} Sobol configurations; main effects explain "
            f"{fmt(imp['main_effects']['estimate'])}, interactions {fmt(imp['interactions']['estimate'])}; "
            "ranked first "
            f"in {fmt(p['top1_frequency'])} of resamples; null p {fmt(null_p)})", p["interval"],
            unit="variance share", label="fitted", estimate=p["point"],
            requires=(null_p is not None and null_p <= 0.05, f"its importance is within the permutation null "
                                                            f"(p {fmt(null_p)})")))
    elif f["importance"].get("early", {}).get("available"):
        out.append(not_measurable("hparams", "importance", "most important hyperparameter at the full budget",
                                  f"not measurable: {imp.get('reason')} (the early, first-rung importance is in the "
                                  "report)"))
    t = f["tunability"]
    if t.get("available") and t["overall"].get("available"):
        o, check = t["overall"], t.get("search_check") or {}
        weak = bool(check.get("search_too_weak"))
        out.append(from_interval("hparams", "tunability",
                                 f"tunability: tuned - default, test accuracy over {o['seeds']} fresh seeds",
                                 o["interval"], unit="accuracy", null=0.0, estimate=o["gain"],
                                 requires=(not weak, check.get("verdict", ""))))
    sv = f["seed_variance"]
    if sv.get("available"):
        out.append(from_interval("hparams", "hparam_share",
                                 f"share of outcome variance from hyperparameters ({sv['design']})",
                                 sv["hparam_share_interval"], unit="fraction", label="fitted",
                                 estimate=sv["hparam_share"]))
    tr = f["transfer"]
    if tr.get("available") and tr["first_rung"].get("available"):
        r = tr["first_rung"]
        out.append(from_interval("hparams", "transfer",
                                 f"rank correlation of configurations {tr['task_a']} vs {tr['task_b']} at evaluation 1 "
                                 f"({r['configs']} configurations)", r["interval"], unit="Spearman", null=0.0,
                                 estimate=r["rho"]))
    c = f["cost"]
    for task, b in (c.get("per_search") or {}).items():
        saved = b["energy_saved_fraction"]
        out.append(Headline("hparams", f"asha_saving/{task}", f"energy ASHA saved on the {task} search", saved, None,
                            "fraction", "estimate", saved is not None,
                            "a projection of the energy the stopped trials would have used (no interval)"
                            if saved is not None else "not measurable: no energy was measured",
                            method=f"projected ({', '.join(c['energy_provenance'])} meters)"))
    return out
