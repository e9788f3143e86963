"""Integration: the tiny hparams study through the CLI (random search + ASHA on Ray Tune, transfer,
default over seeds, one-at-a-time, best-k over seeds) and what its findings must hold."""

import json

import polars as pl

from dl_drawbacks.cli import main


def test_tiny_hparams_study(ray_cluster, specs_dir, tmp_path):
    out = tmp_path / "run"
    assert main(["run", str(specs_dir / "tiny_hparams.yaml"), "--out", str(out)]) == 0
    f = json.loads((out / "findings.json").read_text())["hparams"]
    table = pl.DataFrame(f["table"], infer_schema_length=None)
    sweeps = set(",".join(table["sweep"].to_list()).split(","))
    assert {"search", "transfer", "default", "oat"} <= sweeps
    assert f["search"]["trials"] == 8 and table.filter(pl.col("sweep") == "transfer").height == 8
    # lr up to 30 with AdamW explodes: diverged trials are outcomes at chance accuracy, not errors
    diverged = table.filter(pl.col("status") == "diverged")
    assert diverged.height >= 1 and (diverged["objective"] == diverged["chance"]).all()
    assert f["failures"]["diverged"] >= 1
    # ASHA stopped some search trials and they kept their partial curves (fewer steps than planned)
    stopped = table.filter(pl.col("status") == "stopped_early")
    assert stopped.height >= 1 and (stopped["steps"] < stopped["steps_planned"]).all() and (stopped["evals"] >= 1).all()
    markers = [json.loads((out / "trials" / t / "trial.json").read_text())["status"] for t in stopped["trial_id"]]
    assert set(markers) == {"stopped_early"}
    c = f["cost"]
    assert c["stopped_early"] == stopped.height and 0 < c["time_saved_fraction"] < 1 and c["energy_j"] > 0
    imp = f["importance"]
    assert imp["available"] and set(imp["ranking"]) == {"lr", "optimizer"}
    assert all(p["interval95"][0] <= p["mean"] <= p["interval95"][1] for p in imp["params"].values())
    t = f["tunability"]
    assert t["available"] and t["default_config"] == {"lr": 0.001, "optimizer": "adamw"} and "lr" in t["per_hparam"]
    assert t["gain"] == t["tuned"] - t["default"]
    sv = f["seed_variance"]
    assert sv["available"] and 0 <= sv["seed_share"] <= 1 and sv["configs_over_seeds"] >= 2
    tr = f["transfer"]
    assert tr["available"] and tr["task_b"] == "german" and tr["configs"] == 8 and tr["spearman_first_rung"]["n"] >= 3
    assert {"hparams_importance.png", "hparams_outcome_vs_each.png", "hparams_seed_vs_hparam_variance.png"} <= {p.split("/")[-1] for p in f["figures"]}
    report = (out / "report.md").read_text()
    assert "Which hyperparameters matter" in report and "figures/hparams_importance.png" in report
    # resume: every trial (stopped-early ones too) counts as finished; nothing runs again
    before = sorted(p.name for p in (out / "trials").iterdir())
    assert main(["run", str(specs_dir / "tiny_hparams.yaml"), "--out", str(out), "--resume"]) == 0
    assert sorted(p.name for p in (out / "trials").iterdir()) == before
