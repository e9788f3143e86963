"""Groups named from the data set's metadata: ``race=0`` prints as ``African-American`` on COMPAS, ``sex=0`` as
``female`` on Adult, never as codes the reader must decode.

The names come from the loader (``Dataset.group_names``, attribute -> code -> name; a user's CSV declares them in
its options); report code names no group. A trial records the names of its attributes' codes as rows
``group_name`` (group ``attr=code``, provenance ``name:<name>``); the analysis reads them back into
``findings["group_names"]`` and the report, headlines and figures print ``named(group, names)``. Keys (headline
keys, the findings' dict keys) keep the codes, so they stay stable across runs and data sets; only text changes.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import polars as pl

METRIC = "group_name"
PREFIX = "name:"


def record_group_names(rows, names: Mapping[str, Mapping[int, str]], attrs: Iterable[str]) -> None:
    """One ``group_name`` row per code of each compared attribute that its data set names."""
    for attr in attrs:
        for code, name in sorted((names.get(attr) or {}).items()):
            rows.add(METRIC, float(code), "code", split="test", group=f"{attr}={code}", provenance=f"{PREFIX}{name}")


def read_group_names(rows: pl.DataFrame) -> dict[str, str]:
    """``attr=code`` -> name, from the study's rows. A code two trials name differently (two data sets that
    code ``sex`` the other way round) keeps its code: no name is better than a wrong one."""
    if "metric" not in rows.columns:
        return {}
    recorded = rows.filter(pl.col("metric") == METRIC).select("group", "provenance").unique()
    seen: dict[str, set[str]] = {}
    for group, provenance in recorded.iter_rows():
        if provenance.startswith(PREFIX):
            seen.setdefault(group, set()).add(provenance.removeprefix(PREFIX))
    return {group: next(iter(names)) for group, names in sorted(seen.items()) if len(names) == 1}


def named(group: str, names: Mapping[str, str] | None) -> str:
    """``sex=0,race=1`` -> ``male, Caucasian``; a cell without a name (or ``privileged``) is left as it is."""
    if not names or "=" not in group:
        return group
    return ", ".join(names.get(part, part) for part in group.split(","))


def privileged_sentence(names: Mapping[str, str] | None) -> str:
    """Who is privileged and who is not, by name where the data set names them (stated once per section)."""
    attrs = sorted({g.split("=")[0] for g in names or {}})
    if not attrs:
        return "Privileged = every listed attribute 1; unprivileged = every listed attribute 0."

    def side(code: int) -> str:
        return ", ".join(f"{names.get(f'{a}={code}', f'{a}={code}')} ({a}={code})" for a in attrs)

    return (f"Privileged = every listed attribute 1 ({side(1)}); unprivileged = every listed attribute 0 "
            f"({side(0)}); names from the data set's metadata.")
