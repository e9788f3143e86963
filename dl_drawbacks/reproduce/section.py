"""The report's Reproductions section and the run folder's ``reproductions.json`` (the verdicts, for the index)."""

from __future__ import annotations

import sys
from typing import Any, Mapping

from ..report.markdown import escape_inline, fmt, table
from ..spec.reproduction import PaperSpec, ReproductionSpec
from ..storage.run_folder import RunFolder, json_bytes
from .verdict import Verdict, judge

REPRODUCTIONS = "reproductions.json"
SECTION = "Reproductions"


def paper_text(paper: PaperSpec) -> str:
    """'Greydanus 2020, Table 1'."""
    return f"{paper.authors} {paper.year}, {paper.where}"


def ours_text(v: Verdict) -> str:
    """'0.945 [0.93 to 0.96] (95% nested … over 3 seeds × 1000 test samples)', or the estimate and why no interval."""
    o = v.ours
    if o.estimate is None:
        return "not measured"
    if not o.defined:
        return f"{fmt(o.estimate)} (no interval)"
    over = f" over {o.over}" if o.over else ""
    return f"{fmt(o.estimate)} [{fmt(o.low)} to {fmt(o.high)}] ({o.method or 'interval'}{over})"


def section_markdown(spec: ReproductionSpec, verdicts: list[Verdict]) -> str:
    title = f" — *{escape_inline(spec.paper.title)}*" if spec.paper.title else ""
    head = f"**{escape_inline(paper_text(spec.paper))}**{title}.\n\n"
    if spec.deviations:
        head += f"**Where this run departs from the paper.** {escape_inline(spec.deviations)}\n\n"
    rows = [[paper_text(spec.paper), f"{v.claim}: {v.published}" + (f" {v.unit}" if v.unit else ""), ours_text(v),
             v.tolerance, v.verdict, v.reason] for v in verdicts]
    body = table(["paper", "published", "ours (interval, over)", "tolerance", "verdict", "why"], rows) + "\n"
    if spec.controls:
        body += "\nControls (checked on their estimates before any claim is judged): " + "; ".join(
            escape_inline(c.name) + (f" (≥ {c.at_least:g})" if c.at_least is not None else "")
            + (f" (≤ {c.at_most:g})" if c.at_most is not None else "") for c in spec.controls) + ".\n"
    return head + body


def record(folder: RunFolder, spec: ReproductionSpec, findings: Mapping[str, Any]) -> str:
    """Judge every claim, write ``reproductions.json``, print one line per claim; returns the section's Markdown."""
    verdicts = judge(spec, findings)
    folder.write_bytes(REPRODUCTIONS, json_bytes({
        "paper": spec.paper.model_dump(), "deviations": spec.deviations,
        "verdicts": [v.to_dict() for v in verdicts]}))
    for v in verdicts:
        print(f"reproduction  {paper_text(spec.paper)}: {v.claim}: {v.verdict} ({v.reason})", file=sys.stderr)
    return section_markdown(spec, verdicts)


def read_verdicts(folder: RunFolder) -> tuple[dict[str, Any], list[Verdict]] | None:
    """(paper dict, verdicts) of an analysed reproduction run, None when it has none."""
    import json

    data = folder.read_bytes(REPRODUCTIONS)
    if data is None:
        return None
    found = json.loads(data)
    return found["paper"], [Verdict.from_dict(v) for v in found["verdicts"]]
