"""Aggregation: polars over the run folder (HELM's ``helm-summarize``: a separate pass that reads only files).

``RunRows.read`` reads every marker once and every finished trial's rows file once per ``analyze``, in bulk, and
verifies each against its marker's sha256 (a damaged rows file is refused in one line naming it). It keeps the
verified bytes: a study's rows are scanned by polars from those bytes in memory (never read twice, never other
bytes than the ones verified), from that study's own trials only, with its metric selection and the row columns
its kind reads (``StudyKind.row_columns``) pushed into the lazy scan before ``collect``: other columns are never
decoded, while the checksum still covers every byte of each file. The factors JSON comes from the rows file, where
it is dictionary-encoded: polars decodes it to views of one shared string per file (about 16 bytes a row,
measured), not a copy per row. A study is collected in groups of trials, each rechunked (``CHUNK_ROWS``): a few
large chunks, not one per trial file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable

import polars as pl

from .rows import ROW_SCHEMA
from .storage.run_folder import LocalRunFolder, Marker

Admit = Callable[[Marker], bool]
CHUNK_ROWS = 1 << 18  # rows per chunk of a collected study: a whole-study rechunk doubled its peak memory (10M rows:
# 0.97 GB against 0.61 GB) and cost ~1.5 CPU-s; a frame of one chunk per trial makes each later group-by or filter
# of the analysis pay per chunk (the compute analysis of 1,100 trials: 0.45 CPU-s against 0.15 in one chunk)
OUTCOME_SCHEMA = {
    "trial_id": pl.String,
    "study": pl.String,
    "sweep": pl.String,
    "status": pl.String,
    "error": pl.String,
    "wall_seconds": pl.Float64,
}


class RunRows:
    """The trials of one run folder that analysis reads: their markers and their verified rows files (held in
    memory as written: compressed parquet, a few percent of the collected frames' size)."""

    def __init__(self, folder: LocalRunFolder, markers: dict[str, Marker], verified: dict[str, bytes]) -> None:
        self.folder = folder
        self.markers = markers  # every readable trial (finished or not), by id
        self.verified = verified  # each finished trial's rows file, the bytes whose checksum was verified
        self.finished = list(verified)

    @classmethod
    def read(cls, run_dir: str | Path, admit: Admit | None = None, *, say=None) -> "RunRows":
        """Each marker read once, each finished trial's rows checksum verified once; ``say`` names skipped folders."""
        folder = LocalRunFolder(run_dir)
        markers = folder.readable_markers(admit, say=say)
        finished = [m.trial_id for m in markers.values() if m.finished]
        blobs = folder.verified_rows([markers[t] for t in finished])  # raises, in one line, on damaged rows
        return cls(folder, markers, dict(zip(finished, blobs)))

    def outcomes(self) -> pl.DataFrame:
        """One row per trial: id, study, sweep, status, error, wall seconds."""
        records = [{k: m.get(k) for k in OUTCOME_SCHEMA} for m in self.markers.values()]
        return pl.DataFrame(records, schema=OUTCOME_SCHEMA)

    def scan(self, study: str | None = None, *, metrics: Iterable[str] | None = None,
             columns: Iterable[str] | None = None) -> pl.LazyFrame:
        """The rows of ``study`` (all studies: None), only ``metrics`` when given, only ``columns`` (row columns,
        in the rows' order; all: None) when given, as one lazy frame. Trials whose marker names another study are not
        scanned; the metric filter and the column selection run inside the scan (other columns are not decoded)."""
        return self._scan(self._trials(study), study, metrics, _columns(columns))

    def rows(self, study: str | None = None, *, metrics: Iterable[str] | None = None,
             columns: Iterable[str] | None = None) -> pl.DataFrame:
        """``scan`` collected: consecutive trials of about ``CHUNK_ROWS`` rows in all are collected together and
        rechunked, so the frame has one chunk per ``CHUNK_ROWS`` rows (one for a study smaller than that) and never
        a second copy of the whole study in memory."""
        columns = _columns(columns)
        groups: list[list[str]] = [[]]
        size = 0
        for t in self._trials(study):
            if size >= CHUNK_ROWS:
                groups.append([])
                size = 0
            groups[-1].append(t)
            size += int(self.markers[t].get("n_rows") or 0)
        parts = [self._scan(g, study, metrics, columns).collect(engine="streaming").rechunk() for g in groups if g]
        return pl.concat(parts, how="vertical", rechunk=False) if parts else pl.DataFrame(schema=_schema(columns))

    def fingerprint(self, study: str) -> tuple[tuple[str, str], ...]:
        """The study's finished trials and their rows checksums: equal fingerprints, equal rows (an analysis of
        them done earlier still holds, ``analysis_ahead``)."""
        return tuple(sorted((t, str(self.markers[t].get("rows_sha256"))) for t in self._trials(study)))

    def _trials(self, study: str | None) -> list[str]:
        return [t for t in self.finished if study is None or self.markers[t].get("study", study) == study]

    def _scan(self, trials: list[str], study: str | None, metrics: Iterable[str] | None,
              columns: list[str] | None) -> pl.LazyFrame:
        if not trials:
            return pl.LazyFrame(schema=_schema(columns))
        lf = pl.scan_parquet([self.verified[t] for t in trials], schema=ROW_SCHEMA)  # from memory: no second read
        if study is not None and any(self.markers[t].get("study") is None for t in trials):
            lf = lf.filter(pl.col("study") == study)  # an older marker that does not name its study
        if metrics is not None:
            lf = lf.filter(pl.col("metric").is_in(list(metrics)))
        return lf if columns is None else lf.select(columns)


def _columns(columns: Iterable[str] | None) -> list[str] | None:
    """``columns`` in the rows' order (``ROW_SCHEMA``); a name the rows do not have is refused in one line."""
    if columns is None:
        return None
    wanted = set(columns)
    unknown = sorted(wanted - set(ROW_SCHEMA))
    if unknown:
        raise ValueError(f"columns: {', '.join(map(repr, unknown))} not row columns; choose from "
                         f"{', '.join(ROW_SCHEMA)}")
    return [c for c in ROW_SCHEMA if c in wanted]


def _schema(columns: list[str] | None) -> dict[str, pl.DataType]:
    return ROW_SCHEMA if columns is None else {c: ROW_SCHEMA[c] for c in columns}


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
