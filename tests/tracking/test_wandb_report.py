"""build_report: a Report object built offline; save() only when online (stubbed here)."""

import logging
import re

import pytest
import wandb_workspaces.reports.v2 as wr

from dl_drawbacks.tracking.report import build_report
from dl_drawbacks.tracking.settings import TrackingSettings

FINDINGS = {"bias": {"gap": 0.1234567}, "verdict": "holds"}


@pytest.fixture(autouse=True)
def wandb_env(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    for var in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)


@pytest.fixture
def saves(monkeypatch):
    calls = []
    monkeypatch.setattr(wr.Report, "save", lambda self, *a, **k: calls.append(self))
    return calls


def test_offline_report_is_built_and_not_saved(saves):
    report = build_report(TrackingSettings(), group="study-abc", title="Bias study", findings=FINDINGS,
                          metrics=("loss", "gap.max"))
    assert isinstance(report, wr.Report) and saves == []
    markdown, grid = report.blocks
    assert "**bias/gap**: 0.1235" in markdown.text and "**verdict**: holds" in markdown.text
    regexes = [re.compile(panel.metric_regex) for panel in grid.panels]
    assert [p.title for p in grid.panels] == ["loss", "gap.max"]
    assert [bool(regexes[0].match(k)) for k in ("loss", "loss/train", "loss/test/g1", "loss_scale")] == [
        True, True, True, False]
    assert regexes[1].match("gap.max/val") and not regexes[1].match("gapxmax/val")
    spec = report._to_model().spec.model_dump_json(by_alias=True)  # serializes without network
    assert '"name":"group"' in spec and '"value":"study-abc"' in spec


def test_online_report_is_saved(monkeypatch, saves):
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    report = build_report(TrackingSettings(entity="team"), group="g", title="t", findings={})
    assert saves == [report] and report.entity == "team"


def test_a_failing_save_still_returns_the_report(monkeypatch, caplog):
    def no_network(self, *args, **kwargs):
        raise ConnectionError("not logged in")

    monkeypatch.setattr(wr.Report, "save", no_network)
    with caplog.at_level(logging.WARNING, logger="dl_drawbacks.tracking"):
        report = build_report(TrackingSettings(mode="online", entity="team"), group="g", title="t",
                              findings=FINDINGS)
    assert isinstance(report, wr.Report) and "built but not saved: ConnectionError" in caplog.text


def test_missing_wandb_workspaces_gives_none(monkeypatch, caplog):
    import sys

    monkeypatch.setitem(sys.modules, "wandb_workspaces.reports.v2", None)
    with caplog.at_level(logging.WARNING, logger="dl_drawbacks.tracking"):
        assert build_report(TrackingSettings(), group="g", title="t", findings=FINDINGS) is None
    assert "wandb-workspaces is not importable" in caplog.text
