"""Aggregation: polars over the run folder. Reads only finished trials (checksums verified) in folders named
as their marker's trial id and, given ``admit``, of this run's plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import polars as pl

from .rows import ROW_SCHEMA
from .storage.run_folder import LocalRunFolder, Marker

Admit = Callable[[Marker], bool]


def finished_trials(run_dir: Path, admit: Admit | None = None) -> list[str]:
    """The finished trials analysis reads (``RunFolder.readable_trials``)."""
    folder = LocalRunFolder(run_dir)
    return [t for t in folder.readable_trials(admit) if folder.is_finished(t)]


def trial_outcomes(run_dir: Path, admit: Admit | None = None) -> pl.DataFrame:
    """One row per trial: id, study, sweep, status, error, wall seconds."""
    folder = LocalRunFolder(run_dir)
    records = []
    for trial_id in folder.readable_trials(admit):
        marker = folder.marker(trial_id)
        records.append({k: marker.get(k) for k in ("trial_id", "study", "sweep", "status", "error", "wall_seconds")})
    schema = {
        "trial_id": pl.String,
        "study": pl.String,
        "sweep": pl.String,
        "status": pl.String,
        "error": pl.String,
        "wall_seconds": pl.Float64,
    }
    return pl.DataFrame(records, schema=schema)


def scan_rows(run_dir: Path, admit: Admit | None = None) -> pl.LazyFrame:
    folder = LocalRunFolder(run_dir)
    files = [str(folder.rows_file(t)) for t in finished_trials(run_dir, admit)]
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


def load_rows(run_dir: Path, study: str | None = None, admit: Admit | None = None) -> pl.DataFrame:
    lf = scan_rows(run_dir, admit)
    if study is not None:
        lf = lf.filter(pl.col("study") == study)
    return lf.collect()
