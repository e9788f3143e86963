"""The data study's analyze -> figures -> report -> headlines on synthetic rows: the known crossover with
its direction, the convergence check (fails when training is cut short), and degenerate inputs that
must give reasons, never exceptions."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dl_drawbacks.studies.base import get_kind
from dl_drawbacks.studies.data.convergence import select, selection_table
from dl_drawbacks.headline import as_dicts

from .rows import data_rows

KIND = get_kind("data")
OPTIONS = KIND.Options(target_error=0.05, n_bootstrap=30)


def _everything(rows: pl.DataFrame, tmp_path):
    f = KIND.analyze(rows, OPTIONS, measure=None)
    figs = KIND.figures(rows, f, tmp_path)
    text = KIND.report(f, figs)
    heads = as_dicts(KIND.headlines(f))
    assert isinstance(text, str) and all("finding" in h for h in heads)
    return f, text, heads


def test_selection_rule_and_patience():
    assert select(np.array([1.0, 0.5, 0.4995, 0.6]), min_delta=1e-3) == 1  # 0.4995 is no improvement by > 1e-3
    rows = data_rows(seeds=(0,), anchors=(16,))
    assert selection_table(rows, min_delta=1e-3, patience=4)["converged"].to_list() == [True]
    short = data_rows(seeds=(0,), anchors=(16,), cut_short=True)
    t = selection_table(short, min_delta=1e-3, patience=4)
    assert t["converged"].to_list() == [False] and t["selected_step"][0] == t["last_step"][0]


def test_analysis_finds_the_crossover_direction_and_reports_it(tmp_path):
    f, text, heads = _everything(data_rows(), tmp_path)
    assert f["convergence"]["all_converged"]
    c = f["crossover"]["mlp/xs"]["logistic_regression"]
    assert [x["direction"] for x in c["observed"]] == ["dl_overtakes"]
    assert "DL overtakes the baseline" in text and "Equal data" in text
    assert any("overtakes" in h["finding"] for h in heads)
    m = f["models"]["mlp/xs"]
    assert m["anchor_intervals"][0]["method"].startswith("nested") and m["test_samples"] == 300


def test_cut_short_training_is_flagged(tmp_path):
    f, text, _ = _everything(data_rows(cut_short=True), tmp_path)
    conv = f["convergence"]
    assert not conv["all_converged"] and len(conv["not_converged"]) == 7
    assert all(r["best_is_last"] == r["seeds"] for r in conv["not_converged"])
    assert "Not converged" in text


@pytest.mark.parametrize("mutation", ["one_seed", "one_anchor", "all_diverged", "nan", "no_rows", "no_correctness",
                                      "no_baseline"])
def test_degenerate_inputs_give_reasons_not_exceptions(mutation, tmp_path):
    rows = data_rows(seeds=(0, 1), anchors=(16, 64, 256, 1024), test_size=100)
    rows = {"one_seed": lambda r: r.filter(pl.col("seed") == 0),
            "one_anchor": lambda r: r.filter(pl.col("trial_id").str.starts_with("data-64-")),
            "all_diverged": lambda r: r.with_columns(pl.when(pl.col("metric") == "diverged").then(1.0).otherwise(pl.col("value")).alias("value")),
            "nan": lambda r: r.with_columns(pl.when(pl.col("metric") == "test_correct").then(float("nan")).otherwise(pl.col("value")).alias("value")),
            "no_rows": lambda r: r.head(0),
            "no_correctness": lambda r: r.filter(pl.col("metric") != "test_correct"),
            "no_baseline": lambda r: r.filter(~pl.col("group").str.starts_with("baseline:"))}[mutation](rows)
    f, text, heads = _everything(rows, tmp_path)
    if mutation == "no_rows":
        assert not f["available"] and f["reason"]
        return
    for c in {**f["models"], **f["baselines"]}.values():
        if not c.get("available"):
            assert c["reason"]
        elif c["data_to_target"] and not c["data_to_target"]["available"]:
            assert c["data_to_target"]["reason"]
    if mutation == "one_seed":
        assert all(not c["extrapolation_allowed"] for c in f["models"].values())
    if mutation == "all_diverged":
        assert f["models"] == {} and f["diverged_trials"] == f["trials"]
