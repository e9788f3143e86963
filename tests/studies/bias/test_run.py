"""The tiny bias study end to end through Ray: rows with explicit provenance, findings, figures."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from dl_drawbacks.cli import main

pytestmark = pytest.mark.ray


def test_tiny_bias_study(ray_cluster, tmp_path):
    spec = Path(__file__).resolve().parents[2] / "specs" / "tiny_bias.yaml"
    out = tmp_path / "bias"
    assert main(["run", str(spec), "--out", str(out)]) == 0
    rows = pl.concat([pl.read_parquet(p) for p in (out / "trials").glob("*/rows.parquet")])
    assert rows["trial_id"].n_unique() == 14
    final = rows.filter(pl.col("step").is_null())
    # a NaN is never silent: it always carries an undefined:<reason> provenance
    assert final.filter(pl.col("value").is_nan() & ~pl.col("provenance").str.starts_with("undefined:")).height == 0
    assert set(final.filter(pl.col("metric") == "group_accuracy")["group"]) == {"all", "sex=0", "sex=1"}
    n = final.filter(pl.col("metric") == "test_samples_n")["value"].unique().to_list()
    assert n == [250.0]  # every trial packed all 250 German test samples
    mix = final.filter(pl.col("metric") == "ceo_mix_rate")
    assert mix.height == 4 and mix["provenance"].unique().to_list() == ["aif360 fit on validation"]
    shares = final.filter((pl.col("metric") == "unprivileged_share_measured") & pl.col("factors").str.contains('"unprivileged_share":0.5'))
    assert shares["value"].to_list() == pytest.approx([0.5, 0.5], abs=0.01)

    f = json.loads((out / "findings.json").read_text())["bias"]
    assert f["group_names"] == {"sex=0": "female", "sex=1": "male"}  # German credit's metadata, recorded by the trial
    assert "| female |" in (out / "report.md").read_text()
    head = f["headline"]["sex"]["metrics"]
    di = head["disparate_impact"]
    assert di["n_seeds"] == 2 and di["interval"]["n"] == {"seeds": 2, "test_samples": 250}
    assert di["verdict"] in ("passes", "fails", "inconclusive", "not measurable")
    rep = f["representation"]["sex"]
    assert [p["unprivileged_share"] for p in rep["points"]] == [0.15, 0.5]
    mit = f["mitigation"]["sex @ natural share"]
    rows_ = {r["mitigation"]: r for r in mit["table"]}
    assert set(rows_) == {"none", "reweighing", "calibrated_eq_odds", "eq_odds"}
    ceo = rows_["calibrated_eq_odds"]
    assert ceo["status"] in ("ok", "collapsed", "infeasible") and (ceo["status"] == "ok") == (ceo["reason"] is None)
    if ceo["status"] != "infeasible":
        assert all(0 <= r <= 1 for r in ceo["target"]["mix_rate"].values())
    assert "sex without housing" in f["proxy_ablation"]
