"""A W&B Report for one study run: the headline findings over the curves of its trials.

Built with ``wandb_workspaces.reports.v2``: a markdown block with the findings, then a panel grid
whose run set is the study run's group and a line plot per metric. Trial histories are keyed
``<metric>/<split>/<group>`` (see ``trial_log``), so each plot matches its metric by regex and
shows every split and group of it. Building needs no network;
saving does, so the report is saved only when tracking resolves to ``online``. Offline the Report
object is returned unsaved (tests and dry runs inspect it). Never raises.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Mapping, Sequence

from dl_drawbacks.tracking.settings import TrackingSettings, redact, resolve_mode
from dl_drawbacks.tracking.study_summary import flatten_findings

log = logging.getLogger(__name__)

DEFAULT_PLOT_METRICS = ("loss", "accuracy", "step_time")
MAX_TITLE = 128  # wandb-workspaces refuses longer report titles


def findings_markdown(group: str, findings: Mapping[str, Any], *, limit: int = 20) -> str:
    """The headline findings as a markdown list, the first ``limit`` flattened keys."""
    flat = flatten_findings(findings)
    lines = [f"## Headline findings of `{group}`", ""]
    lines += [f"- **{key}**: {_fmt(value)}" for key, value in list(flat.items())[:limit]]
    if len(flat) > limit:
        lines.append(f"- ... {len(flat) - limit} more in the summary run of this group")
    if not flat:
        lines.append("- (no findings recorded)")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def build_report(
    settings: TrackingSettings,
    *,
    group: str,
    title: str,
    findings: dict,
    metrics: Sequence[str] = DEFAULT_PLOT_METRICS,
    question: str = "",
    extra_panels: Sequence[Any] = (),
    save: bool | None = None,
) -> object | None:
    """The study run's Report (saved when online), or None without wandb-workspaces or on failure.

    ``metrics`` names one line plot each; a plot shows every history key ``<metric>`` or
    ``<metric>/...`` of the group's runs.
    """
    try:
        import wandb_workspaces.reports.v2 as wr
        from wandb_workspaces import expr
    except ImportError as exc:
        log.warning("W&B report skipped: wandb-workspaces is not importable (%s)", exc)
        return None
    mode = resolve_mode(settings.mode)
    if len(title) > MAX_TITLE:
        log.warning("W&B report title cut to %d characters: %r", MAX_TITLE, title)
        title = title[: MAX_TITLE - 3] + "..."
    try:
        # Report's default entity asks the W&B API; offline there is none to ask.
        entity = {} if settings.entity is None and mode == "online" else {"entity": settings.entity or ""}
        runset = wr.Runset(name=group, filters=[expr.Metric("Group") == group])
        panels = [wr.LinePlot(title=name, x="Step", metric_regex=f"^{re.escape(name)}(/|$)")
                  for name in metrics] + list(extra_panels)
        report = wr.Report(
            project=settings.project,
            title=title,
            description=f"Study run group {group}",
            blocks=[*([wr.MarkdownBlock(text=f"*{question}*")] if question else []),
                    wr.MarkdownBlock(text=findings_markdown(group, findings)),
                    wr.PanelGrid(runsets=[runset], panels=panels)],
            **entity,
        )
    except Exception as exc:  # noqa: BLE001 - a report must never fail a study
        log.warning("W&B report not built: %s: %s", type(exc).__name__, redact(str(exc)))
        return None
    if (mode == "online") if save is None else save:
        try:
            report.save()
        except Exception as exc:  # noqa: BLE001
            log.warning("W&B report built but not saved: %s: %s", type(exc).__name__, redact(str(exc)))
    return report
