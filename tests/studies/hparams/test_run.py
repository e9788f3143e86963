"""Integration: the tiny hparams study through the CLI (a random search per data set, each with its own
ASHA on Ray Tune; one-at-a-time; the full-budget sample; fresh-seed re-runs) and what its findings must hold."""

import json

import polars as pl
import pytest

from dl_drawbacks.cli import main


@pytest.mark.slow
def test_tiny_hparams_study(ray_cluster, specs_dir, tmp_path):
    out = tmp_path / "run"
    assert main(["run", str(specs_dir / "tiny_hparams.yaml"), "--out", str(out)]) == 0
    f = json.loads((out / "findings.json").read_text())["hparams"]
    table = pl.DataFrame(f["table"], infer_schema_length=None)
    assert {"search", "transfer", "default", "oat", "sample"} <= set(table["sweep"].to_list())
    assert f["search"]["task_a"]["trials"] == 8 and f["search"]["task_b"]["trials"] == 8
    # each data set's search ran under its own scheduler: ASHA let some trials of each finish
    for sweep in ("search", "transfer"):
        part = table.filter(pl.col("sweep") == sweep)
        assert part.filter(pl.col("status") != "stopped_early").height >= 1, sweep
    stopped = table.filter(pl.col("status") == "stopped_early")
    assert stopped.height >= 1 and (stopped["steps"] < stopped["steps_planned"]).all() and (stopped["evals"] >= 1).all()
    assert {json.loads((out / "trials" / t / "trial.json").read_text())["status"] for t in stopped["trial_id"]} == {"stopped_early"}
    # lr up to 30 with AdamW explodes: diverged trials are outcomes at chance accuracy, not errors
    diverged = table.filter(pl.col("status") == "diverged")
    assert diverged.height >= 1 and (diverged["objective"] == diverged["chance"]).all()
    imp = f["importance"]["early"]
    assert imp["configurations_used"] == imp["configurations_sampled"] - imp["failed_or_missing"] == 8
    assert imp["available"] and set(imp["ranking"]) == {"lr", "optimizer"} and imp["log10_scale"] == ["lr"]
    full = f["importance"]["full_budget"]
    assert full["configurations_sampled"] == 4 and full["rung"] is None
    assert table.filter(pl.col("sweep") == "sample")["status"].is_in(["completed", "diverged"]).all()
    t = f["tunability"]
    assert t["available"] and t["default_config"] == {"lr": 0.001, "optimizer": "adamw"} and set(t["per_hparam"]) == {"lr", "optimizer"}
    assert t["overall"]["available"] and t["overall"]["seeds"] == 2
    assert f["seed_variance"] == {"available": False, "reason": "not measured: analysis.variance_configs is 0"}
    tr = f["transfer"]
    assert tr["available"] and tr["task_b"] == "german" and tr["first_rung"]["configs"] == 8
    assert set(f["cost"]["per_search"]) == {"digits", "german"}
    assert f["cost"]["energy_j"] > 0 and f["cost"]["energy_provenance"]
    report = (out / "report.md").read_text()
    assert "Which hyperparameters matter" in report and "figures/hparams_importance.png" in report
    # resume: every trial (stopped-early ones too) counts as finished; nothing runs again
    before = sorted(p.name for p in (out / "trials").iterdir())
    assert main(["run", str(specs_dir / "tiny_hparams.yaml"), "--out", str(out), "--resume"]) == 0
    assert sorted(p.name for p in (out / "trials").iterdir()) == before
