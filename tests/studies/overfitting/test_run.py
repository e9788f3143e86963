"""The tiny overfitting study through real Ray: per-epoch curves, width × noise, a regularizer,
random labels and calibration in findings.json."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from dl_drawbacks.cli import main

pytestmark = pytest.mark.ray


def test_tiny_overfitting_study_end_to_end(ray_cluster, tmp_path):
    spec = Path(__file__).resolve().parents[2] / "specs" / "tiny_overfitting.yaml"
    out = tmp_path / "run"
    assert main(["run", str(spec), "--out", str(out)]) == 0
    f = json.loads((out / "findings.json").read_text())["overfitting"]
    assert f["trials"] == 12 and f["diverged_trials"] == 0
    rows = pl.concat([pl.read_parquet(p) for p in (out / "trials").glob("*/rows.parquet")])
    per_epoch = rows.filter((pl.col("metric") == "accuracy") & pl.col("split").is_in(["train", "val", "test"]))
    assert per_epoch.group_by("trial_id").agg(pl.col("epoch").n_unique())["epoch"].min() == 5  # evaluated every epoch
    assert [g["label_noise"] for g in f["gap"]] == [0.0, 0.3]
    noisy = [r for r in f["table"] if r["label_noise"] == 0.3]
    assert all(r["labels_changed"] == pytest.approx(0.3, abs=0.01) for r in noisy)
    assert set(f["width"]["per_noise"]) == {"0", "0.3"} and len(f["width"]["per_noise"]["0"]["curve"]) == 2
    reg = f["regularization"]
    assert {r["regularizer"] for r in reg["table"]} >= {"none", "dropout 0.3 + augmentation", "early stopping (best validation epoch)"}
    m = f["memorization"]
    assert m["chance"] == pytest.approx(0.1) and m["test_accuracy_random"]["mean"] < 0.3
    c = f["calibration"]
    assert 0 <= c["ece_raw"]["mean"] <= 1 and c["temperature"]["mean"] > 0
    assert "overfitting_reliability.png" in {p.split("/")[-1] for p in f["figures"]}
