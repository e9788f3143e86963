"""Small Markdown helpers shared by every study's report section."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence


def fmt(value: Any) -> str:
    """Numbers with 3 significant digits (scientific outside 1e-3..1e6); None/NaN as '—'."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if value != 0 and not 1e-3 <= abs(value) < 1e6:
            return f"{value:.3g}"
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c) if not isinstance(c, str) else c for c in row) + " |" for row in rows]
    return "\n".join(lines)


def image(path: Path) -> str:
    return f"![{path.stem}](figures/{path.name})\n"
