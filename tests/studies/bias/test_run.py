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
    assert rows["trial_id"].n_unique() == 10
    final = rows.filter(pl.col("step").is_null())
    # a NaN is never silent: it always carries an undefined:<reason> provenance
    assert final.filter(pl.col("value").is_nan() & ~pl.col("provenance").str.starts_with("undefined:")).height == 0
    assert set(final.filter(pl.col("metric") == "group_accuracy")["group"]) == {"all", "sex=0", "sex=1"}
    assert final.filter(pl.col("metric") == "disparate_impact_boot_low")["provenance"][0].startswith("bootstrap:50")
    shares = final.filter((pl.col("metric") == "unprivileged_share_measured") & pl.col("factors").str.contains('"unprivileged_share":0.5'))
    assert shares["value"].to_list() == pytest.approx([0.5, 0.5], abs=0.01)

    f = json.loads((out / "findings.json").read_text())["bias"]
    head = f["headline"]["sex"]["metrics"]
    assert set(head) == {"disparate_impact", "statistical_parity_difference", "equal_opportunity_difference",
                         "average_odds_difference", "theil_index"}
    di = head["disparate_impact"]
    assert di["n_seeds"] == 2 and len(di["interval95"]) == 2 and len(di["bootstrap95"]) == 2
    assert "four-fifths" in di["verdict"] or di["verdict"].startswith("undefined")
    rep = f["representation"]["sex"]
    assert [p["unprivileged_share"] for p in rep["points"]] == [0.15, 0.5] and "accuracy_gap_closes_at" in rep
    mit = f["mitigation"]["sex @ natural share"]
    assert [r["mitigation"] for r in mit["table"]] == ["none", "reweighing", "calibrated_eq_odds"] and "best" in mit
    assert sorted(Path(p).name for p in f["figures"]) == ["bias_frontier.png", "bias_group_bars.png", "bias_metric_vs_representation.png"]
    assert "Representation sweep" in (out / "report.md").read_text()
