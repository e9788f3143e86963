"""TrialRun writes real offline W&B runs into tmp_path; read back with the offline reader."""

import logging

import pytest
import wandb

from wandb_offline_reader import find_offline_runs, read_offline_run
from dl_drawbacks.tracking.settings import TrackingSettings
from dl_drawbacks.tracking.trial_run import TrialRun

CONFIG = {"lr": 0.01, "model": {"name": "mlp", "width": 8}, "seed": 3, "factors": ["a", "b"]}
HISTORY = [{"train/loss": 2.0 - step * 0.5, "val/accuracy": 0.25 * step} for step in range(3)]


@pytest.fixture(autouse=True)
def wandb_env(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    for var in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    for var in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_DIR", "WANDB_RUN_ID", "WANDB_RESUME",
                "WANDB_RUN_GROUP", "WANDB_JOB_TYPE", "WANDB_PROJECT", "WANDB_ENTITY"):
        monkeypatch.delenv(var, raising=False)


def start(run_dir, run_id="trial-00001", rank=0, mode="offline", config=CONFIG):
    return TrialRun.start(TrackingSettings(mode=mode, tags=("test",)), run_dir, run_id=run_id,
                          name=f"name-{run_id}", group="study-abc", job_type="trial",
                          config=config, rank=rank)


def test_offline_run_records_config_history_and_identity(tmp_path):
    run = start(tmp_path / "run")
    assert run.active
    for step, row in enumerate(HISTORY):
        run.log(row, step=step)
    run.summary({"final/accuracy": 0.5})
    run.finish()
    assert not run.active

    folders = find_offline_runs(tmp_path / "run" / "wandb")
    assert len(folders) == 1 and folders[0].name.endswith("-trial-00001")
    got = read_offline_run(folders[0])
    assert got["config"] == CONFIG
    assert got["history"] == [{"_step": step, **row} for step, row in enumerate(HISTORY)]
    assert (got["run_id"], got["group"], got["job_type"]) == ("trial-00001", "study-abc", "trial")
    assert got["name"] == "name-trial-00001" and got["tags"] == ["test"]
    assert got["summary"]["final/accuracy"] == 0.5 and got["summary"]["val/accuracy"] == 0.5
    assert got["exit_code"] == 0


def test_resumed_trial_reuses_the_run_id(tmp_path):
    for attempt in range(2):
        run = start(tmp_path / "run")
        run.log({"train/loss": 1.0}, step=attempt)
        run.finish()
    folders = find_offline_runs(tmp_path / "run" / "wandb")
    assert [read_offline_run(f)["run_id"] for f in folders] == ["trial-00001", "trial-00001"]


def test_other_ranks_write_nothing(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(wandb, "init", lambda *a, **k: calls.append(k))
    run = start(tmp_path / "run", rank=1)
    run.log({"train/loss": 1.0}, step=0)
    run.summary({"x": 1})
    run.finish()
    assert not run.active and calls == []
    assert not (tmp_path / "run").exists()


def test_disabled_mode_writes_nothing(tmp_path):
    run = start(tmp_path / "run", mode="disabled")
    run.log({"train/loss": 1.0}, step=0)
    run.finish()
    assert not run.active and not (tmp_path / "run").exists()


def test_broken_init_gives_a_noop_run_and_a_warning(tmp_path, monkeypatch, caplog):
    key = "f" * 40
    monkeypatch.setenv("WANDB_API_KEY", key)

    def broken_init(**kwargs):
        raise RuntimeError(f"cannot reach server with key {key}")

    monkeypatch.setattr(wandb, "init", broken_init)
    with caplog.at_level(logging.WARNING, logger="dl_drawbacks.tracking"):
        run = start(tmp_path / "run")
    assert not run.active
    run.log({"train/loss": 1.0}, step=0)
    run.summary({"x": 1})
    run.finish()
    assert "W&B tracking off for run trial-00001: start failed: RuntimeError" in caplog.text
    assert key not in caplog.text and "***" in caplog.text


def test_a_failing_log_turns_the_run_off_without_raising(tmp_path, monkeypatch, caplog):
    run = start(tmp_path / "run")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run._run, "log", full_disk)
    with caplog.at_level(logging.WARNING, logger="dl_drawbacks.tracking"):
        run.log({"train/loss": 1.0}, step=0)
    assert not run.active and "log failed: OSError" in caplog.text
    run.log({"train/loss": 1.0}, step=1)  # no-op now
    got = read_offline_run(find_offline_runs(tmp_path / "run" / "wandb")[0])
    assert got["exit_code"] == 1 and got["history"] == []


def test_api_key_never_reaches_the_run_file(tmp_path, monkeypatch):
    key = "0123456789abcdef" * 2
    monkeypatch.setenv("WANDB_API_KEY", key)
    with start(tmp_path / "run", config={"note": f"key={key}"}) as run:
        run.summary({"echo": key})
    folder = find_offline_runs(tmp_path / "run" / "wandb")[0]
    got = read_offline_run(folder)
    assert got["config"] == {"note": "key=***"} and got["summary"]["echo"] == "***"
    assert all(key.encode() not in p.read_bytes() for p in folder.rglob("*") if p.is_file())
