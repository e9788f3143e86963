"""The tables inside a study's findings (every list of records), for W&B Tables and the Report."""

from __future__ import annotations

import json
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
    """A table cell W&B and Markdown can show: scalars as they are, anything nested as compact JSON."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return json.dumps(value, default=str, separators=(",", ":"))


def columns_and_rows(records: list[Mapping[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Columns in first-seen order over every record; a record lacking a column gets None there."""
    columns: list[str] = []
    for record in records:
        columns += [str(k) for k in record if str(k) not in columns]
    return columns, [[cell(record.get(c)) for c in columns] for record in records]
