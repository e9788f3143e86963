"""Small Markdown helpers shared by every study's report section.

Table cells and headers are escaped (``cell_text``): a ``|`` would end the cell and shift every column
after it, HTML would be rendered by report.html, and a newline would end the row.
"""

from __future__ import annotations

import html
import math
import re
from pathlib import Path
from typing import Any, Sequence


THOUSANDS = "\u202f"  # a narrow no-break space: '618 941', so '[430, 618 941]' has one comma, between the bounds


def fmt(value: Any) -> str:
    """Numbers with 3 significant digits (scientific outside 1e-3..1e6), thousands grouped by a narrow space (a
    comma would read as a list separator inside an interval); None/NaN as '—'."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}".replace(",", THOUSANDS)
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if value != 0 and not 1e-3 <= abs(value) < 1e6:
            return f"{value:.3g}"
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}".replace(",", THOUSANDS)
    return str(value)


_LINE_BREAKS = re.compile(r"[\s]+")


def one_line(text: str) -> str:
    """Runs of whitespace and line breaks as one space; the narrow no-break space of ``fmt`` is kept."""
    return " ".join(p for p in _LINE_BREAKS.sub(lambda m: THOUSANDS if m.group() == THOUSANDS else " ",
                                                   text).split(" ") if p)


def cell_text(value: Any) -> str:
    """One Markdown table cell: formatted, HTML-escaped, ``|`` escaped, on one line."""
    text = value if isinstance(value, str) else fmt(value)
    text = one_line(text)
    return html.escape(text, quote=False).replace("|", "\\|")


def escape_inline(text: str) -> str:
    """Text for a Markdown heading or paragraph: HTML-escaped, on one line."""
    return html.escape(one_line(str(text)), quote=False)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; a row shorter than the header is padded with empty cells, a longer one refused."""
    lines = ["| " + " | ".join(cell_text(h) for h in header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = list(row)
        if len(cells) > len(header):
            raise ValueError(f"table row has {len(cells)} cells for {len(header)} columns: {cells!r}"[:300])
        cells += [""] * (len(header) - len(cells))
        lines.append("| " + " | ".join(cell_text(c) for c in cells) + " |")
    return "\n".join(lines)


def image(path: Path) -> str:
    return f"![{path.stem}](figures/{path.name})\n"
