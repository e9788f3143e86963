"""The tiny overfitting study through real Ray: per-epoch curves on every split (clean and flipped labels too),
per-sample test predictions, and every section of the findings per condition."""

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
    assert f["trials"] == 16 and f["diverged_trials"] == 0 and f["available"]
    rows = pl.concat([pl.read_parquet(p) for p in (out / "trials").glob("*/rows.parquet")])
    per_epoch = rows.filter((pl.col("metric") == "accuracy") & (pl.col("split") == "train_clean"))
    assert per_epoch.group_by("trial_id").agg(pl.col("epoch").n_unique())["epoch"].min() == 5  # evaluated every epoch
    assert (
        rows.filter(pl.col("split") == "train_flipped")["trial_id"].n_unique() == 8
    )  # noise 0.3 (6) + random labels (2)
    preds = rows.filter(pl.col("metric") == "test_prediction").group_by("trial_id", "provenance").len()
    assert set(preds["len"]) == {449} and set(preds["provenance"]) == {"final", "temperature_scaled", "best_val_epoch"}
    noisy = [g for g in f["gap"] if g["label_noise"] == 0.3]
    assert len(noisy) == 3 and all(g["memorization_rate"]["estimate"] is not None for g in noisy)
    assert all(g["gap_clean"]["over"] == "seeds x test samples" for g in f["gap"])
    dd = {c["label_noise"]: c for c in f["double_descent"]["conditions"]}
    assert set(dd) == {0.0, 0.3} and [p["width"] for p in dd[0.0]["curve"]] == [8, 32, 128]
    assert all(c["verdict"] for c in dd.values()) and all(isinstance(c["design_resolves"], bool) for c in dd.values())
    reg = f["regularization"]["conditions"][0]
    assert {e["regularizer"] for e in reg["table"]} == {
        "none",
        "dropout + augmentation",
        "early stopping (epoch of lowest validation loss)",
    }
    m = f["memorization"]["conditions"][0]
    assert m["chance"] == pytest.approx(0.1) and m["test_accuracy_random"]["estimate"] < 0.3
    cal = f["calibration"]["conditions"]
    assert all(c["temperature"]["estimate"] > 0 for c in cal) and all(0 <= c["ece_raw"]["estimate"] <= 1 for c in cal)
    assert {p.split("/")[-1] for p in f["figures"]} >= {"overfitting_reliability.png", "overfitting_error_vs_width.png"}
