"""The report, in Markdown and HTML: a one-page summary across studies, then one section per study."""

from __future__ import annotations

from html import escape as html_escape
from pathlib import Path
from typing import Any

import polars as pl
from markdown_it import MarkdownIt

from .markdown import escape_inline, fmt, table

CSS = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}"
    "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;font-size:.9rem}"
    "img{max-width:100%}code{background:#f4f4f4}"
)


def interval_text(h: dict[str, Any]) -> str:
    """'[low, high]' of a headline, or '' when it has none."""
    lo, hi = (h.get("interval") or [None, None])[:2]
    return "" if lo is None and hi is None else f"[{fmt(lo)}, {fmt(hi)}]"


def headline_detail(h: dict[str, Any]) -> str:
    """Its provenance, or why it has no value (a headline without a value always says why)."""
    if h.get("value") is None and h.get("reason"):
        return f"{h.get('provenance')}; {h['reason']}" if h.get("provenance") else f"not measurable: {h['reason']}"
    return h.get("provenance", "")


def summary_section(headlines: dict[str, list[dict[str, Any]]]) -> str:
    rows = []
    for study, items in headlines.items():
        for h in items:
            rows.append([study, h["finding"], fmt(h["value"]), interval_text(h), h.get("unit", ""), headline_detail(h)])
    return (
        "## Summary across drawbacks\n\n"
        + table(["drawback", "finding", "value", "interval", "unit", "provenance"], rows)
        + "\n"
    )


def outcomes_section(outcomes: pl.DataFrame) -> str:
    counts = outcomes.group_by("status").len().sort("status")
    text = "## Trials\n\n" + ", ".join(f"{s}: {n}" for s, n in counts.iter_rows()) + "\n"
    for status, heading in (
        ("failed", "Failed trials"),
        ("interrupted", "Trials not run to the end (the run was interrupted)"),
    ):
        listed = outcomes.filter(pl.col("status") == status)
        if listed.height:
            text += (
                f"\n{heading}:\n\n"
                + table(
                    ["trial", "study", "sweep", "error"], listed.select("trial_id", "study", "sweep", "error").rows()
                )
                + "\n"
            )
    return text


def write_report(
    run_dir: Path,
    *,
    title: str,
    description: str,
    sections: dict[str, str],
    headlines: dict[str, list[dict[str, Any]]],
    outcomes: pl.DataFrame,
    env: dict[str, Any],
) -> tuple[Path, Path]:
    from ..storage.run_folder import REPORT_HTML, REPORT_MD, LocalRunFolder

    pkgs = ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items() if v)
    parts = [
        f"# {escape_inline(title)}",
        "",
        escape_inline(description),
        "",
        summary_section(headlines),
        outcomes_section(outcomes),
    ]
    for study, body in sections.items():
        parts += [f"## {escape_inline(study)}", "", body, ""]
    parts += [
        "## Environment",
        "",
        f"{env.get('platform', '')}; {env.get('cpu_count_logical', '?')} logical CPUs; GPUs: "
        f"{env.get('gpus') or 'none'}.",
        f"Ray cluster resources: {env.get('ray_cluster_resources', {})}.",
        f"Packages: {pkgs}.",
        "",
    ]
    md = "\n".join(parts)
    html = MarkdownIt("commonmark").enable("table").render(md)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html_escape(title)}</title>"
            f"<style>{CSS}</style></head><body>{html}</body></html>\n")
    folder = LocalRunFolder(run_dir)
    folder.write_bytes(REPORT_MD, md.encode())
    folder.write_bytes(REPORT_HTML, page.encode())
    return folder.path(REPORT_MD), folder.path(REPORT_HTML)
