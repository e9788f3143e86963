"""The tiny data-requirements study through real Ray: learning curves, baselines, findings, figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dl_drawbacks.cli import main

pytestmark = pytest.mark.ray


def test_tiny_data_study_end_to_end(ray_cluster, tmp_path):
    spec = Path(__file__).resolve().parents[2] / "specs" / "tiny_data.yaml"
    assert main(["run", str(spec), "--out", str(tmp_path / "run")]) == 0
    f = json.loads((tmp_path / "run" / "findings.json").read_text())["data"]
    assert f["trials"] == 10 and f["diverged_trials"] == 0
    m = f["models"]["mlp/xs"]
    assert m["anchors"] == [32.0, 64.0, 128.0, 256.0, 512.0] and m["seeds_per_anchor"] == [2] * 5
    assert m["family"] in ("pow3", "pow4", "mmf4", "wbl4") and m["exponent"]["b"] is not None
    assert len(m["exponent"]["interval95"]) == 2
    t = m["data_to_target"]
    assert t["target_error"] == 0.05 and (t["refused"] or 0 <= t["p_unreachable"] <= 1)
    b = f["baselines"]["logistic_regression"]
    assert b["anchors"] == m["anchors"] and all(0 <= e < 1 for e in b["mean_error"])
    assert set(f["crossover"]["mlp/xs"]) == {"logistic_regression"}
    assert {p.split("/")[-1] for p in f["figures"]} >= {"data_learning_curves.png", "data_dl_vs_baseline.png"}
    assert "Deep learning against the classical baselines" in (tmp_path / "run" / "report.md").read_text()
