"""The study's summary run: scalar findings in the summary, finding tables and figures as W&B media,
the run folder's files as an Artifact."""

import json
import logging

import numpy as np
import polars as pl
import pytest
from PIL import Image

from wandb_offline_reader import find_offline_runs, read_offline_run
from dl_drawbacks.headline import from_interval
from dl_drawbacks.tracking.settings import TrackingSettings
from dl_drawbacks.tracking.study_summary import flatten_findings, log_study_summary

FINDINGS = {"bias": {"gap": np.float64(0.125), "groups": np.int64(2)}, "verdict": "holds",
            "ci": (0.1, 0.2)}
HEADLINE = from_interval("bias", "gap", "selection-rate gap (sex)", {"estimate": 0.125, "low": 0.1, "high": 0.2,
                                                                   "n": {"seeds": 2}}, unit="", null=0.0)
TABLE = [{"trial": "t1", "gap": 0.1, "n": 10}, {"trial": "t2", "gap": 0.15, "n": None, "ci": [0.1, 0.2]}]


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


def test_summary_run_holds_findings_tables_figures_and_artifact(tmp_path, caplog):
    png = tmp_path / "gap.png"
    Image.new("RGB", (8, 8), "red").save(png)
    svg = tmp_path / "curve.svg"
    svg.write_text("<svg/>")
    run = tmp_path / "run"
    (run / "trials" / "bias-1").mkdir(parents=True)
    (run / "trials" / "bias-1" / "trial.json").write_text(json.dumps({"study": "bias", "status": "completed"}))
    pl.DataFrame({"value": [1.0]}).write_parquet(run / "trials" / "bias-1" / "rows.parquet")
    (run / "findings.json").write_text("{}")
    findings = {**FINDINGS, "mitigation": {"sex": {"table": TABLE}}}
    with caplog.at_level(logging.WARNING, logger="dl_drawbacks.tracking"):
        assert log_study_summary(TrackingSettings(mode="offline"), run, group="study-abc", kind="bias",
                                 findings=findings, headlines=[HEADLINE], figures=[png, svg])
    assert "curve.svg skipped" in caplog.text

    (folder,) = find_offline_runs(run / "wandb")
    got = read_offline_run(folder)
    assert (got["run_id"], got["group"], got["job_type"]) == ("study-abc-bias-summary", "study-abc", "summary")
    summary = got["summary"]
    assert {k: summary[k] for k in flatten_findings(FINDINGS)} == flatten_findings(FINDINGS)
    assert not any(k.startswith("mitigation/sex/table") for k in summary)  # the table is a Table, not flattened
    assert summary["tables/mitigation/sex/table"]["_type"] == "table-file"
    assert summary["figures/gap"]["_type"] == "image-file"
    headline_table = json.loads((folder / "files" / summary["tables/headlines"]["path"]).read_text())
    assert headline_table["data"][0][0] == HEADLINE.text  # the headline handed in, not one the kind recomputed
    assert "figures/curve" not in summary and got["exit_code"] == 0
    table_file = folder / "files" / summary["tables/mitigation/sex/table"]["path"]
    assert json.loads(table_file.read_text()) == {"columns": ["trial", "gap", "n", "ci"],
                                                   "data": [["t1", 0.1, 10, None], ["t2", 0.15, None, "0.1, 0.2"]]}
    (artifact,) = [a for a in got["artifacts"] if a["type"] == "study-run"]
    assert artifact["type"] == "study-run" and artifact["files"] == ["findings.json", "trials/bias-1/rows.parquet"]


def test_disabled_tracking_writes_no_summary_run(tmp_path):
    assert not log_study_summary(TrackingSettings(mode="disabled"), tmp_path / "run", group="g", kind="bias",
                                 findings=FINDINGS, headlines=[], figures=[])
    assert not (tmp_path / "run").exists()


def test_logging_a_summary_again_updates_the_same_run_id(tmp_path):
    """A second `analyze` resumes each study's summary run: offline it writes another folder, with the same id."""
    run = tmp_path / "run"
    run.mkdir()
    for _ in range(2):
        assert log_study_summary(TrackingSettings(mode="offline"), run, group="g-1", kind="compute",
                                 findings={"gap": 0.5}, headlines=[], figures=[])
    folders = find_offline_runs(run / "wandb")
    assert len(folders) == 2 and {read_offline_run(f)["run_id"] for f in folders} == {"g-1-compute-summary"}
