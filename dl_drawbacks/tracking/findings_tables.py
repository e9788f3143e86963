"""The tables inside a study's findings (every list of records), for W&B Tables and the Report."""

from __future__ import annotations

import numbers
from typing import Any, Mapping

SKIPPED = frozenset({"figures"})


def finding_tables(findings: Mapping[str, Any], prefix: str = "") -> dict[str, list[dict[str, Any]]]:
    """``{path: records}`` for every non-empty list of dicts in ``findings`` (path joined with ``/``)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for key, value in findings.items():
        if key in SKIPPED:
            continue
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(finding_tables(value, f"{path}/"))
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            out[path] = [dict(v) for v in value]
    return out


def cell(value: Any) -> Any:
    """A table cell W&B and Markdown can show: scalars as they are, a list of scalars as 'a, b' text (a nested
    mapping never reaches a cell: ``flat_record`` spreads it over columns)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)) and all(v is None or isinstance(v, (str, bool, numbers.Number)) for v in value):
        return ", ".join("—" if v is None else str(cell(v)) for v in value)
    if isinstance(value, (list, tuple)):
        return f"{len(value)} entries (in findings.json)"
    return str(value)


def flat_record(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A record with nested mappings spread over ``/``-joined columns, so an interval
    ``{"estimate", "low", "high", "n": {...}}`` becomes numeric columns ``x/estimate``, ``x/low``, ``x/high``,
    ``x/n/seeds`` instead of one cell of JSON; a two-number ``interval`` list becomes ``…/low`` and ``…/high``."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flat_record(value, f"{name}/"))
        elif (str(key).startswith("interval") and isinstance(value, (list, tuple)) and len(value) == 2
              and all(v is None or isinstance(v, numbers.Real) for v in value)):
            out[f"{name}/low"], out[f"{name}/high"] = value
        else:
            out[name] = value
    return out


def columns_and_rows(records: list[Mapping[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Columns in first-seen order over every (flattened) record; a record lacking a column gets None there."""
    flat = [flat_record(r) for r in records]
    columns: list[str] = []
    for record in flat:
        columns += [str(k) for k in record if str(k) not in columns]
    return columns, [[cell(record.get(c)) for c in columns] for record in flat]


def headline_records(headlines: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Headlines as table records with numeric columns: finding, estimate, low, high, over, n, unit, provenance.
    ``n`` is the leading count of ``over`` ('3 seeds' -> 3), None where it names none."""
    out = []
    for h in headlines:
        low, high = (list(h.get("interval") or []) + [None, None])[:2]
        over = str(h.get("over") or "")
        first = over.split(" ", 1)[0].replace(",", "")
        out.append({"finding": h.get("finding", ""), "estimate": h.get("value"), "low": low, "high": high,
                    "over": over, "n": int(first) if first.isdigit() else None, "unit": h.get("unit", ""),
                    "provenance": h.get("provenance", ""), "reason": h.get("reason")})
    return out
