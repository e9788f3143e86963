"""Aggregation at the engine's speed: markers and checksums read once per analysis, a study's own files scanned
with its filters pushed down, factors joined once per trial, parquet statistics written, frames in one chunk."""

from __future__ import annotations

import json

import polars as pl
import pytest

from dl_drawbacks.aggregate import RunRows
from dl_drawbacks.errors import RunFolderError
from dl_drawbacks.rows import RowBuffer, canonical_factors
from dl_drawbacks.storage.run_folder import LocalRunFolder

STUDIES = ["compute", "data", "bias"]


def _write(folder: LocalRunFolder, trial_id: str, study: str, width: int, n: int = 4) -> None:
    buf = RowBuffer(study, "run", trial_id, 0, {"model.width": width, "sweep": "grid"})
    for i in range(n):
        buf.add("loss", 1.0 / (i + 1), "nats", split="train", step=i)
        buf.add("accuracy", i / n, "fraction", split="val", step=i)
    folder.write_trial(trial_id, buf.frame(), {"status": "completed", "study": study})


@pytest.fixture
def run(tmp_path):
    folder = LocalRunFolder(tmp_path)
    for k in range(6):
        _write(folder, f"t{k}", STUDIES[k % 3], width=8 * (k + 1))
    folder.write_trial("t9", pl.DataFrame(schema=RowBuffer("data", "r", "t9", 0, {}).frame().schema),
                       {"status": "failed", "study": "data"})
    return folder


def test_markers_and_checksums_are_read_once_for_every_study(run, monkeypatch):
    reads: list[str] = []
    real = LocalRunFolder.read_bytes
    monkeypatch.setattr(LocalRunFolder, "read_bytes", lambda self, rel: reads.append(rel) or real(self, rel))
    rows = RunRows.read(run.root)
    frames = {s: rows.rows(s) for s in STUDIES}
    assert sorted(reads) == sorted([f"trials/t{k}/trial.json" for k in (0, 1, 2, 3, 4, 5, 9)]
                                   + [f"trials/t{k}/rows.parquet" for k in range(6)])
    assert {s: f.height for s, f in frames.items()} == {"compute": 16, "data": 16, "bias": 16}
    assert rows.outcomes().sort("trial_id")["status"].to_list() == ["completed"] * 6 + ["failed"]


def test_a_study_scans_only_its_own_files(run):
    rows = RunRows.read(run.root)
    (run.root / "trials" / "t1" / "rows.parquet").unlink()  # a data trial's file, gone after the read
    assert set(rows.rows("compute")["trial_id"]) == {"t0", "t3"}
    with pytest.raises(FileNotFoundError):
        rows.rows("data")  # proves the data study would have opened it


def test_factors_come_once_per_trial_and_match_the_rows(run):
    marker = run.marker("t4")
    assert marker.get("factors") == canonical_factors({"model.width": 40, "sweep": "grid"})
    joined = RunRows.read(run.root).rows("data")
    assert joined.columns == list(pl.read_parquet(run.rows_file("t4")).columns)
    on_disk = pl.concat([pl.read_parquet(run.rows_file(t)) for t in ("t1", "t4")])
    assert joined.equals(on_disk)  # same rows, same order, same factors, one per row as before


def test_a_marker_without_factors_reads_them_from_the_rows(run):
    path = run.root / "trials" / "t1" / "trial.json"
    doc = json.loads(path.read_text())
    del doc["factors"]  # a trial written before markers carried its factors
    path.write_text(json.dumps(doc))
    frame = RunRows.read(run.root).rows("data").sort("trial_id", "metric", "step")
    assert frame.filter(pl.col("trial_id") == "t1")["factors"].unique().to_list() == [
        canonical_factors({"model.width": 16, "sweep": "grid"})]
    assert frame.height == 16


def test_frames_are_one_chunk_and_metric_filters_are_applied(run):
    rows = RunRows.read(run.root)
    frame = rows.rows("bias")
    assert frame["trial_id"].unique().len() == 2 and all(frame[c].n_chunks() == 1 for c in frame.columns)
    assert set(rows.rows("bias", metrics=["accuracy"])["metric"]) == {"accuracy"}


def test_a_damaged_rows_file_is_named_in_one_line(run):
    path = run.root / "trials" / "t2" / "rows.parquet"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(RunFolderError, match=r"t2/rows.parquet: rows do not match the checksum") as err:
        RunRows.read(run.root)
    assert "\n" not in str(err.value)


def test_rows_files_carry_parquet_statistics(run):
    import pyarrow.parquet as pq

    stats = pq.ParquetFile(run.rows_file("t0")).metadata.row_group(0).column(0).statistics
    assert stats is not None and stats.has_min_max and stats.min == "compute"
