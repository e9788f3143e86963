"""report.md and report.html, laid out as a paper: drawback card, contents, one section per study, appendix."""

from __future__ import annotations

from html import escape as html_escape
from pathlib import Path
from typing import Any

import polars as pl
from markdown_it import MarkdownIt

from .markdown import escape_inline, fmt, table
from .style import CARD_CSS, CSS



def interval_text(h: dict[str, Any]) -> str:
    """'low to high' of a headline (never a comma between the bounds), or '' when it has none."""
    lo, hi = (h.get("interval") or [None, None])[:2]
    return "" if lo is None and hi is None else f"{fmt(lo)} to {fmt(hi)}"


def headline_detail(h: dict[str, Any]) -> str:
    """Its provenance, or why it has no value (a headline without a value always says why)."""
    if h.get("value") is None and h.get("reason"):
        return f"{h.get('provenance')}; {h['reason']}" if h.get("provenance") else f"not measurable: {h['reason']}"
    return h.get("provenance", "")


def headline_table(headlines: dict[str, list[dict[str, Any]]]) -> str:
    """Every study's headline findings in one table (the report's appendix)."""
    rows = []
    for study, items in headlines.items():
        for h in items:
            rows.append([study, h["finding"], fmt(h["value"]), interval_text(h), h.get("over", ""), h.get("unit", ""),
                         headline_detail(h)])
    return table(["drawback", "finding", "value", "interval", "over", "unit", "provenance"], rows) + "\n"


def outcomes_section(outcomes: pl.DataFrame) -> str:
    """Trial counts by status, then the failed and the interrupted trials."""
    counts = outcomes.group_by("status").len().sort("status")
    text = ", ".join(f"{s}: {n}" for s, n in counts.iter_rows()) + "\n"
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


def _anchor(text: str) -> str:
    """An HTML id from a heading: lowercase letters, digits and '-'."""
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split()) or "section"


def study_opening(question: str, answer: str) -> str:
    """The first lines of a study's section: its question, then its answer in a sentence (the card's verdict)."""
    return f"**Question.** {escape_inline(question)}\n\n**Answer.** {escape_inline(answer)}\n\n"


def write_report(
    run_dir: Path,
    *,
    title: str,
    description: str,
    sections: dict[str, str],
    headlines: dict[str, list[dict[str, Any]]],
    outcomes: pl.DataFrame,
    env: dict[str, Any],
    questions: dict[str, str] | None = None,
    card: list | None = None,
) -> tuple[Path, Path]:
    """report.md and report.html, laid out as a paper: the drawback card first, a table of contents, one section
    per study opening with its question and answer, the trials, the environment, and the headline list as an
    appendix. ``card`` holds the card's columns (report/card.py); ``questions`` each study's question."""
    from ..storage.run_folder import REPORT_HTML, REPORT_MD, LocalRunFolder
    from .card_render import card_html, card_markdown

    questions = questions or {}
    answers = {}
    for column in card or []:
        for kind, cell in column.cells.items():
            if cell.entry is not None:
                answers.setdefault(kind, cell.entry.verdict)
    parts: list[tuple[str, str]] = []  # (heading, Markdown body); the card is rendered apart
    for study, body in sections.items():
        if study in questions:  # the opening states the question; a section that repeats it first loses the repeat
            body = body.lstrip().removeprefix(f"*{questions[study]}*").lstrip()
            body = study_opening(questions[study], answers.get(study, "no headline finding (see below).")) + body
        parts.append((study, body))
    parts.append(("Trials", outcomes_section(outcomes)))
    pkgs = ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items() if v)
    parts.append(("Environment", (
        f"{env.get('platform', '')}; {env.get('cpu_count_logical', '?')} logical CPUs; GPUs: "
        f"{env.get('gpus') or 'none'}.\n\nRay cluster resources: {env.get('ray_cluster_resources', {})}.\n\n"
        f"Packages: {pkgs}.\n")))
    parts.append(("Appendix: every headline finding", headline_table(headlines)))
    toc = ([("Drawback card", "drawback-card")] if card else []) + [(h, _anchor(h)) for h, _ in parts]
    toc_md = "\n".join(f"{i}. [{escape_inline(h)}](#{a})" for i, (h, a) in enumerate(toc, 1))
    head = f"# {escape_inline(title)}\n\n{escape_inline(description)}\n\n## Contents\n\n{toc_md}\n\n"
    card_md = f'<a id="drawback-card"></a>\n\n## Drawback card\n\n{card_markdown(card)}\n' if card else ""
    body_md = "".join(f'<a id="{_anchor(h)}"></a>\n\n## {escape_inline(h)}\n\n{b}\n\n' for h, b in parts)
    md = head + card_md + body_md

    render = MarkdownIt("commonmark").enable("table").render
    body_html = "".join(f"<section><h2 id='{_anchor(h)}'>{html_escape(h)}</h2>{render(b)}</section>" for h, b in parts)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' content='width=device-width'>"
            f"<title>{html_escape(title)}</title><style>{CSS}{CARD_CSS}</style></head><body>"
            f"{render(head)}{card_html(card, {h: _anchor(h) for h in sections}) if card else ''}{body_html}"
            f"</body></html>\n")
    folder = LocalRunFolder(run_dir)
    folder.write_bytes(REPORT_MD, md.encode())
    folder.write_bytes(REPORT_HTML, page.encode())
    return folder.path(REPORT_MD), folder.path(REPORT_HTML)
