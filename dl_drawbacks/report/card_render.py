"""The drawback card as HTML (a page of its own, or the first page of report.html), as Markdown (report.md)
and as the terminal's last lines (one per drawback)."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from .card import Cell, Column, by_family, coverage, drawback_rows
from .markdown import table
from .style import CARD_CSS, CSS



def _figure_src(path: Path) -> str:
    """The PNG inline (a data URI), so the card stays one offline file."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def _cell_html(cell: Cell, section: str | None) -> str:
    """A cell; ``section``: the id of the study's section in the same page, linked from '+N more'."""
    if cell.entry is None:
        return f"<td><span class='empty'>{escape(cell.empty)}</span></td>"
    e = cell.entry
    parts = [f"<div class='verdict' title='{escape(e.finding)}'>{escape(e.title)}</div>",
             f"<div class='number'>{escape(e.number)}</div>"]
    if cell.figure is not None:
        parts.append(f"<img alt='{escape(cell.figure.stem)}' src='{_figure_src(cell.figure)}'>")
    parts += [f"<span class='flag'>{escape(f)}</span>" for f in (*e.flags, *cell.flags)]
    if cell.more:
        more = f"+{cell.more} more in its section"
        parts.append(f"<a class='flag' href='#{escape(section)}'>{more}</a>" if section
                     else f"<span class='flag'>{more}</span>")
    return "<td>" + "".join(parts) + "</td>"


def card_html(columns: list[Column], sections: dict[str, str] | None = None) -> str:
    """The card as an HTML fragment: a heading with the coverage, then one table per model family. ``sections``:
    study kind -> the id of its section, where the card opens a report."""
    filled, possible = coverage(columns)
    out = [f"<section id='drawback-card'><h2>Drawback card</h2><p>Coverage: {filled} of {possible} cells filled "
           f"(one row per drawback, one column per data set and run, one table per model family).</p>"]
    for family, cols in by_family(columns).items():
        out.append(f"<h3>{escape(family)}</h3><table class='card'><thead><tr><th class='drawback'>drawback</th>")
        out += [f"<th>{escape(c.title)}</th>" for c in cols]
        out.append("</tr></thead><tbody>")
        for kind in drawback_rows(cols):
            out.append(f"<tr><th class='drawback'>{escape(kind)}</th>")
            out += [_cell_html(c.cells[kind], (sections or {}).get(kind)) for c in cols if kind in c.cells]
            out.append("</tr>")
        out.append("</tbody></table>")
    out.append("</section>")
    return "".join(out)


def card_page(columns: list[Column], *, title: str = "Drawback card") -> str:
    """A standalone offline HTML page holding the card."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' "
            f"content='width=device-width'><title>{escape(title)}</title><style>{CSS}{CARD_CSS}</style></head>"
            f"<body>{card_html(columns)}</body></html>\n")


def _cell_markdown(cell: Cell) -> str:
    if cell.entry is None:
        return f"_{cell.empty}_"
    flags = [*cell.entry.flags, *cell.flags]
    return cell.entry.verdict + (f" ⚑ {'; '.join(flags)}" if flags else "")


def card_markdown(columns: list[Column]) -> str:
    """The card in report.md: one table per family (figures only in the HTML)."""
    filled, possible = coverage(columns)
    out = [f"Coverage: {filled} of {possible} cells filled.", ""]
    for family, cols in by_family(columns).items():
        rows = [[kind, *(_cell_markdown(c.cells[kind]) for c in cols)] for kind in drawback_rows(cols)]
        out += [f"**{family}**", "", table(["drawback", *(c.title for c in cols)], rows), ""]
    return "\n".join(out)


def terminal_lines(columns: list[Column], *, width: int = 160) -> list[str]:
    """One line per filled cell (a drawback on a family and data set): its verdict, cut to ``width``."""
    lines = []
    for column in columns:
        for kind in drawback_rows([column]):
            cell = column.cells[kind]
            if cell.entry is None:
                continue
            flags = [*cell.entry.flags, *cell.flags]
            text = f"  {kind:<16} {column.family}/{column.dataset}: {cell.entry.verdict}"
            text += f" [{'; '.join(flags)}]" if flags else ""
            lines.append(text if len(text) <= width else text[: width - 1] + "…")
    return lines
