"""The study's summary run: findings in the summary, tables and figures as W&B media."""

import json
import logging

import numpy as np
import polars as pl
import pytest
from PIL import Image

from wandb_offline_reader import find_offline_runs, read_offline_run
from dl_drawbacks.tracking.settings import TrackingSettings
from dl_drawbacks.tracking.study_summary import flatten_findings, log_study_summary

FINDINGS = {"bias": {"gap": np.float64(0.125), "groups": np.int64(2)}, "verdict": "holds",
            "ci": (0.1, 0.2)}


@pytest.fixture(autouse=True)
def wandb_env(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    for var in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    for var in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_DIR", "WANDB_RUN_ID", "WANDB_RESUME"):
        monkeypatch.delenv(var, raising=False)


def test_flatten_findings_joins_keys_and_plain_values():
    assert flatten_findings(FINDINGS) == {"bias/gap": 0.125, "bias/groups": 2, "verdict": "holds",
                                          "ci": [0.1, 0.2]}


def test_summary_run_holds_findings_tables_and_figures(tmp_path, caplog):
    png = tmp_path / "gap.png"
    Image.new("RGB", (8, 8), "red").save(png)
    svg = tmp_path / "curve.svg"
    svg.write_text("<svg/>")
    table = pl.DataFrame({"trial": ["t1", "t2"], "gap": [0.1, 0.15], "n": [10, None]})
    with caplog.at_level(logging.WARNING, logger="dl_drawbacks.tracking"):
        log_study_summary(TrackingSettings(mode="offline"), tmp_path / "run", run_id="study-abc-summary",
                          group="study-abc", findings=FINDINGS, tables={"per_trial": table},
                          figures=[png, svg])
    assert "curve.svg skipped" in caplog.text

    (folder,) = find_offline_runs(tmp_path / "run" / "wandb")
    got = read_offline_run(folder)
    assert (got["run_id"], got["group"], got["job_type"]) == ("study-abc-summary", "study-abc", "summary")
    summary = got["summary"]
    assert {k: summary[k] for k in flatten_findings(FINDINGS)} == flatten_findings(FINDINGS)
    assert summary["tables/per_trial"]["_type"] == "table-file"
    assert summary["figures/gap"]["_type"] == "image-file"
    assert "figures/curve" not in summary and got["exit_code"] == 0
    table_file = folder / "files" / summary["tables/per_trial"]["path"]
    assert json.loads(table_file.read_text()) == {"columns": ["trial", "gap", "n"],
                                                   "data": [["t1", 0.1, 10], ["t2", 0.15, None]]}


def test_disabled_tracking_writes_no_summary_run(tmp_path):
    log_study_summary(TrackingSettings(mode="disabled"), tmp_path / "run", run_id="s", group="g",
                      findings=FINDINGS, tables={}, figures=[])
    assert not (tmp_path / "run").exists()
