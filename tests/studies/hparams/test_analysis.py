"""The hparams analyses on synthetic studies with a known answer, in both directions (the effect is found
when present and not found when absent), and degenerate pools reported with a reason."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import polars as pl

from dl_drawbacks.spec.models import MeasureSpec
from dl_drawbacks.storage.files import json_safe
from dl_drawbacks.studies.base import get_kind
from dl_drawbacks.studies.hparams.outcomes import trial_outcomes, val_curves
from dl_drawbacks.studies.hparams.transfer import transfer
from dl_drawbacks.studies.hparams.tunability import tunability
from dl_drawbacks.studies.hparams.variance import seed_variance
from dl_drawbacks.headline import as_dicts


def _noise(*key) -> float:
    digest = hashlib.sha256(json.dumps(key, default=str).encode()).digest()
    return float(np.random.default_rng(int.from_bytes(digest[:4], "little")).normal())


def peak_in_log_lr(hp, task, seed):  # only log10(lr) matters; optimum at 10^-1.5, the default 1e-3 is far from it
    return 0.9 - 0.08 * (math.log10(hp["lr"]) + 1.5) ** 2 + 0.003 * _noise(hp["lr"], task, seed)


def no_hparam_matters(hp, task, seed):
    return 0.7 + 0.02 * _noise(hp["lr"], hp["dropout"], task, seed)


def analyze(rows, options):
    kind = get_kind("hparams")
    return kind.analyze(rows, options, measure=MeasureSpec())


def table_of(rows, options):
    return trial_outcomes(rows), val_curves(rows), list(options.search_space), options.seeds


def test_importance_at_the_full_budget_and_early_find_log_lr_on_every_configuration(synthetic_study):
    rows, options = synthetic_study(peak_in_log_lr)
    findings = analyze(rows, options)
    found = findings["importance"]
    full, early = found["full_budget"], found["early"]
    # 19 permutations: p = 1/20 is the smallest p-value they give, and it rejects at 0.05 (as "matters" does)
    headline = next(h for h in as_dicts(get_kind("hparams").headlines(findings)) if h["key"] == "importance")
    assert headline["resolved"] and "at the full budget: lr" in headline["finding"] and full["params"]["lr"]["null_p_value"] == 0.05
    assert full["available"] and full["ranking"][0] == "lr" and full["matters"] == ["lr"]
    assert full["configurations_used"] == full["configurations_sampled"] == 32 and full["rung"] is None
    assert "full budget" in full["objective"] and "Sobol" in full["objective"]
    main, inter = full["main_effects"], full["interactions"]
    assert abs(main["estimate"] + inter["estimate"] - 1) < 1e-9 and main["estimate"] > 0.8
    assert abs(main["estimate"] - sum(p["point"] for p in full["params"].values())) < 1e-9
    assert early["available"] and early["ranking"][0] == "lr" and early["params"]["lr"]["top1_frequency"] >= 0.9
    assert early["configurations_used"] == early["configurations_sampled"] == 24 and early["rung"] == 1
    assert early["objective"].startswith("EARLY")


def test_importance_null_finds_nothing(synthetic_study):
    rows, options = synthetic_study(no_hparam_matters)
    imp = analyze(rows, options)["importance"]["full_budget"]
    assert imp["available"] and imp["matters"] == []
    assert all(p["null_p_value"] > 0.05 for p in imp["params"].values())


def test_importance_counts_and_names_failed_configurations(synthetic_study):
    rows, options = synthetic_study(peak_in_log_lr, bootstraps=3)
    search = rows.filter(pl.col("factors").str.contains('"sweep":"search"'))["trial_id"].unique().sort()[:2]
    sample = rows.filter(pl.col("factors").str.contains('"sweep":"sample"'))["trial_id"].unique().sort()[:3]
    found = analyze(rows.filter(~pl.col("trial_id").is_in(pl.concat([search, sample]).implode())), options)
    imp, full = found["importance"]["early"], found["importance"]["full_budget"]
    assert imp["configurations_used"] == 22 and imp["failed_or_missing"] == 2 and len(imp["missing_configs"]) == 2
    assert full["configurations_used"] == 29 and full["failed_or_missing"] == 3 and len(full["missing_configs"]) == 3


def test_variance_decomposition_both_directions(synthetic_study):
    rows, options = synthetic_study(peak_in_log_lr)
    table = trial_outcomes(rows)
    sv = seed_variance(table, options)
    assert sv["available"] and sv["configs_used"] == 20 and sv["hparam_share"] > 0.8
    assert sv["hparam_share_interval"]["low"] > 0.5 and sv["hparam_share_interval"]["n"]["configurations"] == 20
    # only configurations whose full-budget sample run trains (>= chance + 0.5 x (1 - chance) = 0.55) are in it
    design = table.filter(pl.col("config_id").is_in(sv_ids := [c["config_id"] for c in sv["per_config"]]))
    assert (design.filter(pl.col("sweep") == "sample")["objective"] >= 0.55).all() and len(set(sv_ids)) == 20
    assert sv["sample_configs_that_train"] < sv["sample_configs"] == 32 and "chance" in sv["trains"]
    rows, options = synthetic_study(no_hparam_matters)
    null = seed_variance(trial_outcomes(rows), options)
    assert null["available"] and null["hparam_share"] < 0.3 and null["hparam_share_interval"]["low"] < 0.3


def test_variance_below_twenty_configurations_that_train_is_not_measurable(synthetic_study):
    def half_never_train(hp, task, seed):  # low learning rates stay at chance (0.1)
        return (0.85 if hp["lr"] > 0.01 else 0.12) + 0.01 * _noise(hp["lr"], task, seed)

    rows, options = synthetic_study(half_never_train)
    sv = seed_variance(trial_outcomes(rows), options)
    assert not sv["available"] and sv["sample_configs_that_train"] < 20 and sv["configs_used"] < 20
    assert sv["reason"].startswith("not measurable: ") and "need >= 20" in sv["reason"]


def test_tunability_gain_on_fresh_seeds_and_test_both_directions(synthetic_study):
    table, _, names, seeds = table_of(*synthetic_study(peak_in_log_lr))
    t = tunability(table, names, seeds, top_k=2)
    assert t["overall"]["gain"] > 0.1 and t["overall"]["interval"]["low"] > 0
    # both searches choose the same configuration: its best_seeds and transfer_seeds re-runs on digits count once
    assert t["overall"]["seeds"] == 3 and t["overall"]["interval"]["n"] == {"seeds_(paired)": 3}
    assert t["per_hparam"]["lr"]["gain"] > 0.1 and t["per_hparam"]["lr"]["interval"]["low"] > 0
    assert t["per_hparam"]["optimizer"]["gain"] == 0.0 or t["per_hparam"]["optimizer"]["interval"]["low"] <= 0
    assert t["search_check"]["available"] and not t["search_check"]["search_too_weak"]
    table, _, names, seeds = table_of(*synthetic_study(no_hparam_matters))
    null = tunability(table, names, seeds, top_k=2)
    assert null["overall"]["interval"]["low"] <= 0 <= null["overall"]["interval"]["high"]


def test_winners_curse_is_reported_negative_not_clipped(synthetic_study):
    def lucky_on_the_search_seed(hp, task, seed):  # high lr wins on seed 0 only; on fresh seeds it is worse
        return 0.7 + (0.2 if seed == 0 else -0.1) * (hp["lr"] > 0.01) + 0.002 * _noise(hp["lr"], seed)

    table, _, names, seeds = table_of(*synthetic_study(lucky_on_the_search_seed))
    t = tunability(table, names, seeds, top_k=2)
    o = t["overall"]
    assert o["tuned_config"]["lr"] > 0.01 and o["selection_run_val"] > 0.85
    assert o["gain"] < -0.05 and o["interval"]["high"] < 0
    # a single hyperparameter tuned alone beats the search's choice: the search is too weak, not the tunability low
    check = t["search_check"]
    assert check["search_too_weak"] and check["best_single_gain"] > o["gain"] and "too weak" in check["verdict"]
    only = {"importance": {}, "tunability": t, "seed_variance": {}, "transfer": {}, "cost": {}}
    headline = next(h for h in as_dicts(get_kind("hparams").headlines(only)) if h["key"] == "tunability")
    assert not headline["resolved"] and "the search is too weak" in headline["finding"]


def test_transfer_both_directions(synthetic_study):
    table, curves, names, seeds = table_of(*synthetic_study(peak_in_log_lr))
    tr = transfer(table, curves, names, seeds, seed=0)
    first = tr["first_rung"]
    assert tr["available"] and first["configs"] == 24 and first["rho"] > 0.8 and first["interval"]["low"] > 0.5
    assert tr["regret_a_to_b"]["available"]

    def unrelated(hp, task, seed):
        return peak_in_log_lr(hp, task, seed) if task == "digits" else 0.7 + 0.05 * _noise(hp["lr"], task)

    table, curves, names, seeds = table_of(*synthetic_study(unrelated))
    first = transfer(table, curves, names, seeds, seed=0)["first_rung"]
    assert first["interval"]["low"] < 0 < first["interval"]["high"]


def _whole(rows, options, tmp_path):
    kind = get_kind("hparams")
    findings = kind.analyze(rows, options, measure=MeasureSpec())
    json.dumps(json_safe(findings), allow_nan=False)
    figures = kind.figures(rows, findings, tmp_path)
    return findings, kind.report(findings, figures), as_dicts(kind.headlines(findings))


def test_every_transfer_trial_stopped_early_is_a_finding_not_a_crash(synthetic_study, tmp_path):
    rows, options = synthetic_study(peak_in_log_lr, bootstraps=3)
    is_transfer = pl.col("factors").str.contains('"sweep":"transfer"')
    extra = rows.filter(is_transfer & (pl.col("metric") == "steps")).with_columns(metric=pl.lit("stopped_early"), value=1.0)
    rows = pl.concat([rows.filter(~(is_transfer & (pl.col("metric") == "stopped_early"))), extra])
    findings, section, _ = _whole(rows, options, tmp_path)
    assert findings["transfer"] == {"available": False, "reason": "not measurable: every transfer trial was stopped early"}
    assert "every transfer trial was stopped early" in section


def test_degenerate_rows_never_raise(synthetic_study, tmp_path):
    rows, options = synthetic_study(peak_in_log_lr, bootstraps=3)
    one_seed = rows.filter(pl.col("seed") == 0)
    diverged = rows.with_columns(pl.when(pl.col("metric") == "diverged").then(1.0).otherwise(pl.col("value")).alias("value"))
    nan = rows.with_columns(pl.when(pl.col("metric") == "accuracy").then(float("nan")).otherwise(pl.col("value")).alias("value"))
    for mutated in (one_seed, diverged, nan, rows.head(0), rows.filter(pl.col("trial_id") == rows["trial_id"][0])):
        findings, section, headlines = _whole(mutated, options, tmp_path)
        assert section.strip()
        for key in ("importance", "seed_variance", "tunability", "transfer"):
            f = findings[key]
            assert f.get("available") or f.get("reason"), (key, f)
        assert all(h["value"] is not None or h.get("reason") for h in headlines)
    assert "not measurable" in _whole(one_seed, options, tmp_path)[0]["seed_variance"]["reason"]
