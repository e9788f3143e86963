"""A study's W&B Report: spec as data (no network), built with public wandb-workspaces classes,
findings as tables, published in place when its URL is known (save stubbed here)."""

import logging

import pytest
import wandb_workspaces.reports.v2 as wr

from dl_drawbacks.tracking.panels import Bars, Curves, Parallel, Scatter, config, summary
from dl_drawbacks.tracking.report import build_report, publish, report_spec
from dl_drawbacks.tracking.settings import TrackingSettings

PANELS = [Curves("loss", ("loss/train", "loss/val")),
          Scatter("e", summary("parameters"), summary("energy/total"), log_x=True),
          Bars("acc", (summary("accuracy/test"),), group_by="mitigation"),
          Parallel("cfg", (config("lr"), summary("accuracy/val")))]
HEADLINES = [{"finding": "gap |a| ≤ 0.1", "value": 0.1234, "interval": [0.1, 0.2], "unit": "ratio",
              "provenance": "aif360", "over": "2 seeds"}]
FINDINGS = {"mitigation": {"sex": {"table": [{"mitigation": "none", "di": 0.8},
                                             {"mitigation": "reweighing", "di": 0.95}]}}}


@pytest.fixture(autouse=True)
def wandb_env(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    for var in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)


def _spec(sweeps=(), card="", **kw):
    return report_spec(TrackingSettings(**kw), group="g-1", kind="bias", title="t", question="Is it fair?",
                       headlines=HEADLINES, findings=FINDINGS, panels=PANELS, sweeps=sweeps, card=card)


def test_spec_holds_headlines_and_finding_tables_as_markdown_tables():
    spec = _spec()
    question, headlines = spec["intro"]
    assert question == "*Is it fair?*" and "| gap \\|a\\| ≤ 0.1 | 0.123 | 0.1 | 0.2 | 2 seeds | 2 | ratio |" in headlines
    (table,) = spec["tables"]
    assert table.startswith("### mitigation/sex/table") and "| reweighing | 0.95 |" in table
    assert [p["type"] for p in spec["panels"]] == ["Curves", "Scatter", "Bars", "Parallel"]
    assert spec["runset"] == {"group": "g-1", "job_type": "bias", "sweeps": []}


def test_report_is_built_offline_from_public_classes():
    report = build_report(_spec(), PANELS)
    assert isinstance(report, wr.Report) and report.entity == ""
    kinds = [type(b).__name__ for b in report.blocks]
    assert kinds == ["MarkdownBlock", "MarkdownBlock", "PanelGrid", "MarkdownBlock"]
    grid = report.blocks[2]
    assert [type(p).__name__ for p in grid.panels] == ["LinePlot", "ScatterPlot", "BarPlot", "ParallelCoordinatesPlot"]
    assert grid.panels[0].y == ["loss/train", "loss/val"] and grid.panels[2].groupby == wr.Config("mitigation")
    assert grid.runsets[0].filters == "Metric(\"Group\") == 'g-1' and Metric(\"JobType\") == 'bias'"


def test_the_card_opens_the_report_and_sweeps_get_a_runset_each():
    spec = _spec(sweeps=["mitigation", "representation"], card="| drawback | digits |")
    assert spec["intro"][0] == "## Drawback card\n\n| drawback | digits |"
    grid = next(b for b in build_report(spec, PANELS).blocks if type(b).__name__ == "PanelGrid")
    assert [r.name for r in grid.runsets] == ["sweep mitigation", "sweep representation"]
    assert all(r.filters.endswith(f"Metric(\"Tags\") in ['sweep:{s}']")
               for r, s in zip(grid.runsets, ["mitigation", "representation"]))


def test_publish_updates_the_existing_report_in_place(monkeypatch):
    saved, loaded = [], []
    existing = wr.Report(project="dl-drawbacks", entity="team", title="old", blocks=[wr.MarkdownBlock(text="old")])
    existing.id = "abc123"

    def from_url(cls, url, **kw):
        loaded.append(url)
        return existing

    monkeypatch.setattr(wr.Report, "from_url", classmethod(from_url))
    monkeypatch.setattr(wr.Report, "save", lambda self, *a, **k: saved.append(self) or self)
    monkeypatch.setattr(wr.Report, "url", property(lambda self: f"https://wandb.test/{self.entity}/r--{self.id}"))
    url = publish(_spec(entity="team"), PANELS, url="https://wandb.test/team/r--abc123")
    assert loaded == ["https://wandb.test/team/r--abc123"] and saved == [existing]
    assert existing.id == "abc123" and existing.title == "t" and len(existing.blocks) == 4  # same report, new content
    assert url == "https://wandb.test/team/r--abc123"


def test_a_failing_publish_warns_and_returns_none(monkeypatch, caplog):
    def no_network(self, *args, **kwargs):
        raise ConnectionError("not logged in")

    monkeypatch.setattr(wr.Report, "save", no_network)
    with caplog.at_level(logging.WARNING, logger="dl_drawbacks.tracking"):
        assert publish(_spec(entity="team"), PANELS, url=None) is None
    assert "not published: ConnectionError" in caplog.text


def test_missing_wandb_workspaces_gives_none(monkeypatch, caplog):
    import sys

    monkeypatch.setitem(sys.modules, "wandb_workspaces.reports.v2", None)
    with caplog.at_level(logging.WARNING, logger="dl_drawbacks.tracking"):
        assert build_report(_spec(), PANELS) is None
    assert "wandb-workspaces is not importable" in caplog.text
