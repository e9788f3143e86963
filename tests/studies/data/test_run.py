"""The tiny data-requirements study through real Ray: budgets scaled with n, per-sample correctness,
learning curves, baselines selecting on validation, convergence flags, crossovers, figures, report."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from dl_drawbacks.aggregate import load_rows
from dl_drawbacks.cli import main

pytestmark = pytest.mark.ray


def test_tiny_data_study_end_to_end(ray_cluster, tmp_path):
    spec = Path(__file__).resolve().parents[2] / "specs" / "tiny_data.yaml"
    assert main(["run", str(spec), "--out", str(tmp_path / "run")]) == 0
    f = json.loads((tmp_path / "run" / "findings.json").read_text())["data"]
    assert f["trials"] == 10 and f["diverged_trials"] == 0 and f["test_samples"] == 449 and f["validation_rows"] == 202
    rows = load_rows(tmp_path / "run", "data")
    steps = rows.filter(pl.col("metric") == "steps").join(
        rows.filter(pl.col("metric") == "train_size").select("trial_id", pl.col("value").alias("n")), on="trial_id")
    assert dict(zip(steps["n"], steps["value"])) == {32.0: 40.0, 64.0: 40.0, 128.0: 80.0, 256.0: 160.0, 512.0: 320.0}
    m = f["models"]["mlp/xs"]
    assert m["anchors"] == [32.0, 64.0, 128.0, 256.0, 512.0] and m["seeds_per_anchor"] == [2] * 5
    assert m["anchor_intervals"][0]["over"] == "seeds x test samples"
    assert set(m["families"]) == {"pow2", "pow3", "pow4", "mmf4", "wbl4"}
    assert m["data_to_target"]["target_error"] == 0.05
    b = f["baselines"]["logistic_regression"]
    assert b["anchors"] == m["anchors"] and all(0 <= e < 1 for e in b["mean_error"])
    assert rows.filter(pl.col("metric") == "selected_C").height == 10
    conv = f["convergence"]
    assert {r["n"] for r in conv["per_anchor"]} == set(m["anchors"])
    assert conv["all_converged"] == (conv["trials_not_converged"] == 0)
    c = f["crossover"]["mlp/xs"]["logistic_regression"]
    assert len(c["per_anchor"]) == 5 and c["verdict"]
    assert {p.split("/")[-1] for p in f["figures"]} >= {"data_learning_curves.png", "data_dl_vs_baseline.png"}
    assert "Deep learning against the classical baselines" in (tmp_path / "run" / "report.md").read_text()
