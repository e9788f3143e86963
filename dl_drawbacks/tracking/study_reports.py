"""One W&B Report per study of a run folder, its spec always written to ``RUN_DIR/wandb-reports/<kind>.json``
(built offline from the study's ``wandb_panels(findings)``, headlines and finding tables); published only
when asked and online. A published Report's URL is kept in ``RUN_DIR/wandb-reports/published.json``, so the
next ``--publish`` updates that Report in place instead of making another."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ..headline import Headline, as_dicts
from ..storage.files import atomic_write_bytes, atomic_write_json
from .panels import Panel
from .report import build_report
from .report import publish as publish_report
from .report import report_spec
from .run_setup import run_info

log = logging.getLogger(__name__)

REPORTS = "wandb-reports"
PUBLISHED = "published.json"


def published_urls(run_dir: Path) -> dict[str, str]:
    try:
        urls = json.loads((Path(run_dir) / REPORTS / PUBLISHED).read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in urls.items() if isinstance(v, str)} if isinstance(urls, dict) else {}


def study_panels(kind: Any, findings: dict[str, Any]) -> list[Panel]:
    """The kind's panels for these findings; a kind that raises falls back to the default panels."""
    from ..studies.base import StudyKind

    try:
        return list(kind.wandb_panels(findings))
    except Exception as exc:  # noqa: BLE001 - a panel declaration must not cost the Report
        log.warning("W&B panels of %s: %s: %s; using the default panels", kind.name, type(exc).__name__, exc)
        return list(StudyKind.wandb_panels(kind, findings))


def study_report_specs(run_dir: Path, suite: Any, findings: dict[str, Any], headlines: dict[str, list[Headline]], *,
                       group: str) -> list[tuple[str, dict, list]]:
    """(kind, report spec, panels) of every study of the suite, with the headlines the analysis pass computed;
    each Report opens with the run's drawback card."""
    from ..report.card import build_card
    from ..report.card_render import card_markdown
    from ..studies.base import get_kind

    code = run_info(run_dir)
    notes = (f"Run folder `{Path(run_dir).name}`, W&B group `{group}`, git `{code.get('git_sha') or 'unknown'}`"
             f"{' (uncommitted changes)' if code.get('git_dirty') else ''}. The parquet rows in the run folder are the "
             "record; these runs mirror them.")
    from ..plan import plan_suite
    from ..storage.run_folder import SPEC, LocalRunFolder

    card = card_markdown(build_card([run_dir]))
    planned = {p.spec.kind: p.trials for p in plan_suite(suite, source=LocalRunFolder(run_dir).url(SPEC))}
    out = []
    for study in suite.studies:
        kind = get_kind(study.kind)
        sweeps = list(dict.fromkeys(s for t in planned.get(study.kind, []) for s in t.sweep.split(",") if s))
        found = findings.get(study.kind, {})
        failed = "analysis_error" in found or "not_measurable" in found
        panels = study_panels(kind, found)
        title = f"dl_drawbacks {suite.name}: {study.kind}"
        spec = report_spec(suite.tracking, group=group, kind=study.kind, title=title,
                           question=kind.question, headlines=as_dicts(headlines.get(study.kind, [])),
                           findings={} if failed else found, panels=panels, notes=notes, card=card, sweeps=sweeps)
        out.append((study.kind, spec, panels))
    return out


def write_study_reports(run_dir: Path, suite: Any, findings: dict[str, Any], headlines: dict[str, list[Headline]],
                        *, group: str, publish: bool = False) -> list[tuple[str, Path, bool]]:
    """Write each study's Report spec (and publish it when asked); returns (kind, spec path, published)."""
    run_dir = Path(run_dir)
    urls = published_urls(run_dir)
    out = []
    for kind, spec, panels in study_report_specs(run_dir, suite, findings, headlines, group=group):
        path = run_dir / REPORTS / f"{kind}.json"
        built = build_report(spec, panels) is not None  # offline: checks wandb-workspaces accepts every panel
        url = publish_report(spec, panels, url=urls.get(kind)) if publish else None
        if url:
            urls[kind] = url
            atomic_write_json(run_dir / REPORTS / PUBLISHED, urls)
        written = {**spec, "built": built, "url": url or urls.get(kind)}
        atomic_write_bytes(path, json.dumps(written, indent=1, default=str).encode())
        out.append((kind, path, bool(url)))
    return out
