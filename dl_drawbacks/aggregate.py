"""Aggregation: polars over the run folder. Reads only finished trials (checksums verified)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from .rows import ROW_SCHEMA
from .store import TRIALS, is_finished, read_marker


def finished_trials(run_dir: Path) -> list[str]:
    root = Path(run_dir) / TRIALS
    if not root.exists():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and is_finished(run_dir, p.name))


def trial_outcomes(run_dir: Path) -> pl.DataFrame:
    """One row per trial folder: id, study, sweep, status, error, wall seconds."""
    root = Path(run_dir) / TRIALS
    records = []
    for folder in sorted(root.iterdir()) if root.exists() else []:
        marker = read_marker(run_dir, folder.name)
        if marker:
            records.append(
                {k: marker.get(k) for k in ("trial_id", "study", "sweep", "status", "error", "wall_seconds")}
            )
    schema = {
        "trial_id": pl.String,
        "study": pl.String,
        "sweep": pl.String,
        "status": pl.String,
        "error": pl.String,
        "wall_seconds": pl.Float64,
    }
    return pl.DataFrame(records, schema=schema)


def scan_rows(run_dir: Path) -> pl.LazyFrame:
    files = [str(Path(run_dir) / TRIALS / t / "rows.parquet") for t in finished_trials(run_dir)]
    if not files:
        return pl.LazyFrame(schema=ROW_SCHEMA)
    return pl.scan_parquet(files, schema=ROW_SCHEMA)


def with_factor_columns(rows: pl.DataFrame) -> pl.DataFrame:
    """Expand the canonical factors JSON into one column per factor (named by its last path part)."""
    distinct = rows.select("factors").unique()
    decoded = [json.loads(f) for f in distinct["factors"]]
    keys = sorted({k for d in decoded for k in d})
    names = {k: k.split(".")[-1] for k in keys}
    if len(set(names.values())) < len(names):
        names = {k: k for k in keys}
    table = pl.DataFrame(
        {
            "factors": distinct["factors"],
            **{
                names[k]: [json.dumps(d.get(k)) if isinstance(d.get(k), (dict, list)) else d.get(k) for d in decoded]
                for k in keys
            },
        },
        strict=False,
    )
    return rows.join(table, on="factors", how="left")


def load_rows(run_dir: Path, study: str | None = None) -> pl.DataFrame:
    lf = scan_rows(run_dir)
    if study is not None:
        lf = lf.filter(pl.col("study") == study)
    return lf.collect()
