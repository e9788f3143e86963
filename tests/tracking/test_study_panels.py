"""Every study's Report panels plot keys its runs log.

Fast: each registered kind declares panels that wandb-workspaces builds, for real, empty and failed
findings. Slow (``-m slow``): each tiny spec runs offline through Ray; then every panel key of its
Report spec is in at least one of its offline trial runs, there is one trial run per trial, and no
logged key names the host.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from dl_drawbacks.registry import STUDIES
from dl_drawbacks.studies.base import get_kind
from dl_drawbacks.tracking.panels import Curves, Key
from dl_drawbacks.tracking.report import build_report, report_spec
from dl_drawbacks.tracking.settings import TrackingSettings
from wandb_offline_reader import find_offline_runs, logged_keys, read_offline_run

SPECS = Path(__file__).resolve().parents[1] / "specs"
KINDS = ["bias", "compute", "data", "hparams", "interpretability", "overfitting"]


def test_the_list_covers_every_built_in_kind():
    get_kind("compute")  # discovers the built-ins
    assert set(KINDS) <= set(STUDIES)  # plug-ins of other tests may add more


FINDINGS = [{}, {"analysis_error": "ValueError: x"}, {"hparams": ["lr"], "t": [{"method": "ig"}]}]


@pytest.mark.parametrize("findings", FINDINGS)
@pytest.mark.parametrize("name", KINDS)
def test_every_kind_declares_panels_wandb_workspaces_builds(name, findings):
    kind = get_kind(name)
    panels = kind.wandb_panels(findings)
    assert panels and any(isinstance(p, Curves) for p in panels)
    assert all(isinstance(k, Key) for p in panels for k in p.keys())
    spec = report_spec(TrackingSettings(), group="g", kind=name, title=name, question=kind.question, headlines=[],
                       findings={}, panels=panels)
    report = build_report(spec, panels)
    (grid,) = [b for b in report.blocks if type(b).__name__ == "PanelGrid"]
    assert len(grid.panels) == len(panels)


def panel_keys(run_dir: Path, kind: str) -> list[tuple[str, str, str]]:
    spec = json.loads((run_dir / "wandb-reports" / f"{kind}.json").read_text())
    out = []
    for panel in spec["panels"]:
        fields = {k: v for k, v in panel.items() if k != "type"}
        if panel["type"] == "Curves":
            out += [(panel["title"], "history", m) for m in fields["metrics"]]
        for value in fields.values():
            for key in value if isinstance(value, list) else [value]:
                if isinstance(key, dict) and "section" in key:
                    out.append((panel["title"], key["section"], key["name"]))
        if fields.get("group_by"):
            out.append((panel["title"], "config", fields["group_by"]))
    return out


def check_run_folder(run_dir: Path, kind: str) -> None:
    runs = [read_offline_run(f) for f in find_offline_runs(run_dir / "wandb")]
    trials = [r for r in runs if r["job_type"] == kind]
    markers = [json.loads(p.read_text()) for p in (run_dir / "trials").glob("*/trial.json")]
    assert len({r["run_id"] for r in trials}) == len(markers), "one W&B run per trial"
    held = [logged_keys(r) for r in trials]
    missing = [(title, section, key) for title, section, key in panel_keys(run_dir, kind)
               if not any(key in h[section] for h in held)]
    assert not missing, missing
    host = socket.gethostname()
    assert not [k for h in held for k in h["history"] | h["summary"] if host in k or k.startswith(("node:", "gpu:"))]


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.parametrize("kind", KINDS)
def test_panel_keys_are_logged_by_the_tiny_study(kind, ray_cluster, tmp_path):
    from dl_drawbacks.cli import main

    out = tmp_path / kind
    assert main(["run", str(SPECS / f"tiny_{kind}.yaml"), "--out", str(out)]) in (0, 1)
    check_run_folder(out, kind)
