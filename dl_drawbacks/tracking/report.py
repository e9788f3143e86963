"""A study's W&B Report: its question, its headline findings and finding tables, and its panels over
the run group's trial runs, built with the public ``wandb_workspaces.reports.v2`` API.

``report_spec`` is the Report as plain data (written to the run folder and read by tests; it needs
neither wandb-workspaces nor the network). ``build_report`` turns it into a ``wr.Report``;
``publish`` saves it, updating the study's existing Report in place (``Report.from_url`` + ``save``)
when its URL is known, so teammates' links keep working. Building never raises; publishing warns.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

from ..report.markdown import fmt, table
from .findings_tables import columns_and_rows, finding_tables
from .panels import Panel, to_dict
from .settings import TrackingSettings, redact

log = logging.getLogger(__name__)

MAX_TITLE = 128  # wandb-workspaces refuses longer report titles
MAX_TABLE_ROWS = 30
MAX_TABLE_COLUMNS = 12


def headline_markdown(headlines: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for h in headlines:
        lo, hi = (h.get("interval") or [None, None])[:2]
        interval = f"[{fmt(lo)}, {fmt(hi)}]" if h.get("interval") else "—"
        rows.append([h.get("finding", ""), fmt(h.get("value")), interval, h.get("over", ""), h.get("unit", ""),
                     h.get("provenance", "")])
    if not rows:
        return "## Headline findings\n\n(no headline findings: see the run folder's findings)"
    return "## Headline findings\n\n" + table(["finding", "value", "interval", "over", "unit", "provenance"], rows)


def tables_markdown(findings: Mapping[str, Any]) -> list[str]:
    """One Markdown table per table in the findings (first rows and columns; the full table is a W&B Table)."""
    out = []
    for path, records in finding_tables(findings).items():
        columns, rows = columns_and_rows(records)
        cut = [r[:MAX_TABLE_COLUMNS] for r in rows[:MAX_TABLE_ROWS]]
        more = []
        if len(rows) > MAX_TABLE_ROWS or len(columns) > MAX_TABLE_COLUMNS:
            shown = (f"{min(len(rows), MAX_TABLE_ROWS)} of {len(rows)} rows, "
                     f"{min(len(columns), MAX_TABLE_COLUMNS)} of {len(columns)}")
            more = [f"\n\n*First {shown} columns; the full table is `{path}` in this group's summary run.*"]
        out.append(f"### {path}\n\n" + table(columns[:MAX_TABLE_COLUMNS], cut) + "".join(more))
    return out


def report_spec(settings: TrackingSettings, *, group: str, kind: str, title: str, question: str,
                headlines: Sequence[Mapping[str, Any]], findings: Mapping[str, Any], panels: Sequence[Panel],
                notes: str = "") -> dict[str, Any]:
    """The Report as data: title, run set (this group's trial runs of ``kind``), blocks and panels."""
    if len(title) > MAX_TITLE:
        title = title[: MAX_TITLE - 3] + "..."
    intro = [*([f"*{question}*"] if question else []), headline_markdown(headlines)]
    return {"title": title, "project": settings.project, "entity": settings.entity,
            "description": f"Study {kind} of run group {group}",
            "runset": {"group": group, "job_type": kind},
            "intro": intro, "tables": tables_markdown(findings), "notes": notes, "panels": [to_dict(p) for p in panels]}


def build_report(spec: Mapping[str, Any], panels: Sequence[Panel], *, entity: str | None = None) -> Any:
    """A ``wr.Report`` from ``report_spec``; None without wandb-workspaces or when it refuses the spec."""
    try:
        import wandb_workspaces.reports.v2 as wr
        from wandb_workspaces import expr
    except ImportError as exc:
        log.warning("W&B report skipped: wandb-workspaces is not importable (%s)", exc)
        return None
    try:
        group, job_type = spec["runset"]["group"], spec["runset"]["job_type"]
        runset = wr.Runset(name=group, filters=[expr.Metric("Group") == group, expr.Metric("JobType") == job_type])
        blocks = [wr.MarkdownBlock(text=text) for text in spec["intro"]]
        blocks.append(wr.PanelGrid(runsets=[runset], panels=[p.build(wr) for p in panels]))
        tail = [*spec["tables"], *([spec["notes"]] if spec["notes"] else [])]
        blocks += [wr.MarkdownBlock(text=text) for text in tail]
        # Report's default entity asks the W&B API; offline there is none to ask.
        return wr.Report(project=spec["project"], title=spec["title"], description=spec["description"],
                         blocks=blocks, entity=entity if entity is not None else (spec["entity"] or ""))
    except Exception as exc:  # noqa: BLE001 - a report must never fail a study
        log.warning("W&B report not built: %s: %s", type(exc).__name__, redact(str(exc)))
        return None


def publish(spec: Mapping[str, Any], panels: Sequence[Panel], *, url: str | None) -> str | None:
    """Save the Report online: update the one at ``url`` in place, else create it. Its URL, or None."""
    try:
        import wandb_workspaces.reports.v2 as wr

        if url:
            report = wr.Report.from_url(url)
            fresh = build_report(spec, panels, entity=report.entity)
            if fresh is None:
                return None
            report.title, report.description, report.blocks = fresh.title, fresh.description, fresh.blocks
        else:
            report = (build_report(spec, panels, entity=spec["entity"]) if spec["entity"]
                      else _with_default_entity(spec, panels))
            if report is None:
                return None
        report.save()
        return str(report.url)
    except Exception as exc:  # noqa: BLE001 - publishing is best effort; the spec stays in the run folder
        log.warning("W&B report not published: %s: %s", type(exc).__name__, redact(str(exc)))
        return None


def _with_default_entity(spec: Mapping[str, Any], panels: Sequence[Panel]) -> Any:
    """The Report under the key's default entity (wandb-workspaces asks the API for it)."""
    import wandb_workspaces.reports.v2 as wr

    built = build_report(spec, panels, entity="")
    if built is None:
        return None
    return wr.Report(project=built.project, title=built.title, description=built.description, blocks=built.blocks)
