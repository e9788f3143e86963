"""Aggregation: polars over the run folder (HELM's ``helm-summarize``: a separate pass that reads only files).

``RunRows.read`` reads every marker once and verifies every finished trial's rows checksum once per ``analyze``
(a damaged rows file is refused in one line naming it). A study's rows are then scanned from that study's own
files only, with its filters pushed into the lazy scan before ``collect``; the factors JSON is not read per row
but joined once per trial from the trial's marker, and the collected frame is rechunked (one chunk per column).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable

import polars as pl

from .rows import ROW_SCHEMA
from .storage.run_folder import LocalRunFolder, Marker, in_threads

Admit = Callable[[Marker], bool]
COLUMNS = list(ROW_SCHEMA)
OUTCOME_SCHEMA = {
    "trial_id": pl.String,
    "study": pl.String,
    "sweep": pl.String,
    "status": pl.String,
    "error": pl.String,
    "wall_seconds": pl.Float64,
}


class RunRows:
    """The trials of one run folder that analysis reads: their markers and their verified rows files."""

    def __init__(self, folder: LocalRunFolder, markers: dict[str, Marker], finished: list[str]) -> None:
        self.folder = folder
        self.markers = markers  # every readable trial (finished or not), by id
        self.finished = finished  # the finished trials, their rows checksums verified

    @classmethod
    def read(cls, run_dir: str | Path, admit: Admit | None = None, *, say=None) -> "RunRows":
        """Each marker read once, each finished trial's rows checksum verified once; ``say`` names skipped folders."""
        folder = LocalRunFolder(run_dir)
        markers = folder.readable_markers(admit, say=say)
        finished = [m.trial_id for m in markers.values() if m.finished]
        in_threads(folder.verify_rows, [markers[t] for t in finished])  # raises, in one line, on damaged rows
        return cls(folder, markers, finished)

    def outcomes(self) -> pl.DataFrame:
        """One row per trial: id, study, sweep, status, error, wall seconds."""
        records = [{k: m.get(k) for k in OUTCOME_SCHEMA} for m in self.markers.values()]
        return pl.DataFrame(records, schema=OUTCOME_SCHEMA)

    def scan(self, study: str | None = None, *, metrics: Iterable[str] | None = None) -> pl.LazyFrame:
        """The rows of ``study`` (all studies: None), only ``metrics`` when given, as one lazy frame. Trials whose
        marker names another study are not opened; the study and metric filters run inside the scan."""
        trials = [t for t in self.finished if study is None or self.markers[t].get("study", study) == study]
        joined = [t for t in trials if self.markers[t].get("factors") is not None]
        per_row = [t for t in trials if self.markers[t].get("factors") is None]  # older folders: factors per row
        parts = []
        if joined:
            factors = pl.LazyFrame(
                {"trial_id": joined, "factors": [self.markers[t].get("factors") for t in joined]},
                schema={"trial_id": pl.String, "factors": pl.String},
            )
            rows = self._scan_files(joined, study, metrics).drop("factors")
            parts.append(rows.join(factors, on="trial_id", how="left", maintain_order="left").select(COLUMNS))
        if per_row:
            parts.append(self._scan_files(per_row, study, metrics))
        return pl.concat(parts, how="vertical") if parts else pl.LazyFrame(schema=ROW_SCHEMA)

    def rows(self, study: str | None = None, *, metrics: Iterable[str] | None = None) -> pl.DataFrame:
        return self.scan(study, metrics=metrics).collect(engine="streaming").rechunk()

    def _scan_files(self, trials: list[str], study: str | None, metrics: Iterable[str] | None) -> pl.LazyFrame:
        lf = pl.scan_parquet([str(self.folder.rows_file(t)) for t in trials], schema=ROW_SCHEMA)
        if study is not None:
            lf = lf.filter(pl.col("study") == study)
        if metrics is not None:
            lf = lf.filter(pl.col("metric").is_in(list(metrics)))
        return lf


def trial_outcomes(run_dir: Path, admit: Admit | None = None) -> pl.DataFrame:
    """One row per trial: id, study, sweep, status, error, wall seconds."""
    return RunRows.read(run_dir, admit).outcomes()


def load_rows(run_dir: Path, study: str | None = None, admit: Admit | None = None) -> pl.DataFrame:
    """The rows of one study (all: None) of a run folder; for one study of many, ``RunRows`` reads the folder once."""
    return RunRows.read(run_dir, admit).rows(study)


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
