"""How an interval from ``statistics`` is written in the interpretability report's tables."""

from __future__ import annotations

from typing import Any

from ...report.markdown import fmt


def interval_cell(s: dict[str, Any] | None) -> str:
    """'estimate [low, high]', the estimate alone when the interval is undefined, '—' when there is none."""
    if not s or s.get("estimate") is None:
        return "—"
    if s.get("low") is None:
        return fmt(s["estimate"])
    flat = " (zero width: no spread, not certainty)" if s["low"] == s["high"] else ""
    return f"{fmt(s['estimate'])} [{fmt(s['low'])}, {fmt(s['high'])}]{flat}"
