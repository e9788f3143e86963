"""Trial runs for every outcome, logged from the run folder's rows and markers."""

from __future__ import annotations

import json

import polars as pl
import pytest
import yaml

from dl_drawbacks.rows import ROW_SCHEMA, RowBuffer
from dl_drawbacks.tracking.settings import TrackingSettings
from dl_drawbacks.tracking.trial_log import log_unlogged_trials, logged_status
from dl_drawbacks.tracking.trial_logger import TrialLogger
from dl_drawbacks.storage.run_folder import LocalRunFolder
from wandb_offline_reader import find_offline_runs, read_offline_run

OUTCOMES = ("completed", "stopped_early", "diverged", "failed")


@pytest.fixture(autouse=True)
def wandb_env(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    for var in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    for var in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_DIR", "WANDB_RUN_ID", "WANDB_RESUME"):
        monkeypatch.delenv(var, raising=False)


def _trial(i: int) -> dict:
    factors = {"sweep": "lr_sweep", "trainer.optimizer.lr": 0.003 * (i + 1), "dataset": "digits"}
    return {"trial_id": f"hp-{i}", "study": "hparams", "study_index": 0, "sweep": "lr_sweep", "seed": 1,
            "factors": factors, "model": {"family": "mlp", "size": "s"},
            "trainer": {"optimizer": {"lr": factors["trainer.optimizer.lr"]}}, "tracking": {"mode": "offline"}}


def _rows(trial: dict) -> pl.DataFrame:
    r = RowBuffer("hparams", "grp", trial["trial_id"], trial["seed"], trial["factors"])
    for step in (1, 2):
        r.add("loss", 1.0 / step, "nats", split="train", step=step, epoch=0)
    r.add("energy", 3.0, "J", group="node:my-host", provenance="estimate")
    return r.frame()


@pytest.fixture
def run_dir(tmp_path):
    run = tmp_path / "run"
    sweep = {"name": "lr_sweep", "axes": {"trainer.optimizer.lr": [1]}}
    spec = {"name": "s", "studies": [{"kind": "hparams", "sweeps": [sweep]}]}
    run.mkdir()
    (run / "spec.yaml").write_text(yaml.safe_dump(spec))
    for i, status in enumerate(OUTCOMES):
        t = _trial(i)
        rows = _rows(t) if status != "failed" else pl.DataFrame(schema=ROW_SCHEMA)
        error = "ValueError: boom" if status == "failed" else None
        outcome = {"status": status, "error": error, "sweep": t["sweep"], "study": t["study"]}
        LocalRunFolder(run).write_trial(t["trial_id"], rows, outcome)
    return run


def test_every_outcome_gets_one_run_with_outcome_name_and_factor_columns(run_dir):
    planned = {"hp-0": _trial(0)}  # hp-1.. are known from their rows only (as a TPE trial the plan never saw)
    with TrialLogger(run_dir, settings=TrackingSettings(mode="offline"), group="grp") as logger:
        logger.submit(_trial(0))  # the driver's logger, as the trial ends
        logger.submit(_trial(0))  # reported twice (its result, then its task's end): logged once
    assert logger.logged == 1
    n = log_unlogged_trials(run_dir, settings=TrackingSettings(mode="offline"), group="grp", planned=planned)
    assert n == 3  # the completed one was logged by the run's logger already
    runs = [read_offline_run(f) for f in find_offline_runs(run_dir / "wandb")]
    by_outcome = {r["summary"]["outcome"]: r for r in runs}
    assert sorted(by_outcome) == sorted(OUTCOMES) and len(runs) == 4
    for status, run in by_outcome.items():
        assert status in run["tags"] and "hparams" in run["tags"] and run["group"] == "grp"
        assert run["config"]["outcome"] == status
    done = by_outcome["completed"]
    assert done["name"] == "mlp/s lr=0.003 seed=1" and done["config"]["lr"] == 0.003
    assert done["summary"]["energy/total"] == 3.0 and done["config"]["devices"] == ["node:my-host"]
    assert [row["loss/train"] for row in done["history"]] == [1.0, 0.5]
    stopped = by_outcome["stopped_early"]
    assert stopped["name"] == "dataset=digits lr=0.006 seed=1"  # from its rows: every factor, no model
    failed = by_outcome["failed"]
    assert failed["summary"]["error"] == "ValueError: boom" and failed["exit_code"] == 1
    assert all(logged_status(run_dir, f"hp-{i}") == s for i, s in enumerate(OUTCOMES))
    assert log_unlogged_trials(run_dir, settings=TrackingSettings(mode="offline"), group="grp", planned=planned) == 0


def test_disabled_tracking_logs_no_trial(run_dir):
    assert log_unlogged_trials(run_dir, settings=TrackingSettings(mode="disabled"), group="g", planned={}) == 0
    assert not (run_dir / "wandb").exists()
    assert json.loads((run_dir / "trials" / "hp-0" / "trial.json").read_text())["status"] == "completed"
