"""The analysis, figures, report and headlines survive degenerate rows and say why a finding is missing."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from dl_drawbacks.storage.files import json_safe
from dl_drawbacks.studies.base import get_kind
from dl_drawbacks.studies.overfitting.kind import PREDICTION_METRIC
from dl_drawbacks.headline import as_dicts


def _rows(synth, seeds=(0, 1), **kw):
    rng = np.random.default_rng(0)
    frames = [
        synth.trial_rows(
            seed=s,
            sweep="width",
            width=w,
            label_noise=0.2,
            train_acc=1.0,
            train_clean=0.9,
            flipped_acc=0.8,
            test_correct=synth.correct(0.8, rng),
            **kw,
        )
        for s in seeds
        for w in (8, 32, 128)
    ]
    return synth.concat(frames)


def _everything(rows, options, tmp_path):
    kind = get_kind("overfitting")
    f = kind.analyze(rows, options, measure=None)
    figs = kind.figures(rows, f, tmp_path)
    md = kind.report(f, figs)
    heads = as_dicts(kind.headlines(f))
    json.dumps(json_safe(f), allow_nan=False)
    return f, md, heads


MUTATIONS = {
    "one seed": lambda r: r.filter(pl.col("seed") == 0),
    "no test-sample predictions": lambda r: r.filter(pl.col("metric") != PREDICTION_METRIC),
    "NaN accuracies": lambda r: r.with_columns(
        pl.when(pl.col("metric") == "accuracy").then(float("nan")).otherwise("value").alias("value")
    ),
    "no settings": lambda r: r.filter(pl.col("metric") != "setting"),
    "no per-epoch rows": lambda r: r.filter(~pl.col("metric").is_in(["accuracy", "loss"])),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutated_rows_do_not_raise(name, synth, options, tmp_path):
    f, md, heads = _everything(MUTATIONS[name](_rows(synth)), options, tmp_path)
    assert md and all({"finding", "value", "interval", "unit", "provenance"} <= set(h) for h in heads)
    for h in heads:
        assert h["value"] is not None or h.get("reason") or "no peak" in h["finding"] or "not testable" in h["finding"]


def test_every_trial_diverged_is_reported_with_its_reason(synth, options, tmp_path):
    f, md, heads = _everything(_rows(synth, diverged=True), options, tmp_path)
    assert f["available"] is False and f["reason"] == "every trial diverged or failed"
    assert "Not measurable" in md and heads[0]["reason"] == f"not measurable: {f['reason']}"


def test_one_seed_gives_intervals_with_a_reason(synth, options, tmp_path):
    f, _, _ = _everything(_rows(synth, seeds=(0,)), options, tmp_path)
    g = f["gap"][0]["gap_clean"]
    assert g["reason"] == "one seed: seed-to-seed variation is not measured"
    assert f["gap"][0]["memorization_rate"]["low"] is None and "one value" in f["gap"][0]["memorization_rate"]["reason"]


def test_missing_sweeps_are_reported(synth, options, tmp_path):
    f, _, _ = _everything(_rows(synth), options, tmp_path)
    assert f["regularization"] == {"available": False, "reason": "no finished trial in the regularization sweep"}
    assert f["memorization"]["available"] is False and f["train_size"]["available"] is False
