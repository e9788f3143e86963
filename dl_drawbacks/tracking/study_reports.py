"""One W&B Report per study of a run folder: its question, its headline findings table and the
study's key panels over the run group's trials. Always written to ``RUN_DIR/wandb-reports/<kind>.json``
(the report spec, built offline); published to W&B only when asked and online."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..store import atomic_write_bytes
from .settings import TrackingSettings


def headline_table(headlines: list[dict[str, Any]]) -> dict[str, Any]:
    return {h["finding"]: {"value": h["value"], "interval": h.get("interval"), "unit": h.get("unit", ""),
                           "provenance": h.get("provenance", "")} for h in headlines}


def write_study_reports(run_dir: Path, suite, findings: dict[str, Any], *, group: str, publish: bool = False) -> list[tuple[str, Path, bool]]:
    """Build each study's Report; returns (kind, spec path, published) per study."""
    from ..studies.base import get_kind
    from .report import build_report

    settings: TrackingSettings = suite.tracking
    out = []
    for study in suite.studies:
        kind = get_kind(study.kind)
        found = findings.get(study.kind, {})
        metrics, panels = kind.wandb_panels()
        headlines = kind.headlines(found) if "analysis_error" not in found and "not_measurable" not in found else []
        report = build_report(settings, group=group, title=f"dl_drawbacks {suite.name}: {study.kind}", findings=headline_table(headlines),
                              metrics=metrics, question=kind.question, extra_panels=panels, save=publish)
        if report is None:
            continue
        spec = report._to_model().spec.model_dump_json(by_alias=True)  # serialisable offline; saving needs the network
        path = Path(run_dir) / "wandb-reports" / f"{study.kind}.json"
        atomic_write_bytes(path, json.dumps(json.loads(spec), indent=1).encode())
        out.append((study.kind, path, publish and bool(getattr(report, "url", None))))
    return out
