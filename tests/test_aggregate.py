"""Aggregation at the engine's speed: markers and rows read once per analysis, in bulk, every rows checksum
verified and the verified bytes scanned (never read again), a study's own trials scanned with its metric filter
pushed down, a damaged or linked file named in one line, parquet statistics written, frames in one chunk."""

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


def test_markers_and_rows_are_read_once_for_every_study(run, monkeypatch):
    import dl_drawbacks.storage.run_folder as run_folder

    reads: list[str] = []
    real = run_folder._read_file
    monkeypatch.setattr(run_folder, "_read_file", lambda at, name: reads.append(f"{at}/{name}") or real(at, name))
    rows = RunRows.read(run.root)
    for k in range(6):  # the studies scan the verified bytes: nothing of the folder is read again
        (run.root / "trials" / f"t{k}" / "rows.parquet").unlink()
    frames = {s: rows.rows(s) for s in STUDIES}
    assert sorted(reads) == sorted([f"{run.root}/trials/t{k}/trial.json" for k in (0, 1, 2, 3, 4, 5, 9)]
                                   + [f"{run.root}/trials/t{k}/rows.parquet" for k in range(6)])
    assert {s: f.height for s, f in frames.items()} == {"compute": 16, "data": 16, "bias": 16}
    assert rows.outcomes().sort("trial_id")["status"].to_list() == ["completed"] * 6 + ["failed"]


def test_a_study_scans_only_its_own_trials(run):
    rows = RunRows.read(run.root)
    rows.verified["t1"] = b"not parquet"  # a data trial's bytes, spoiled after the verification
    assert set(rows.rows("compute")["trial_id"]) == {"t0", "t3"}
    with pytest.raises(pl.exceptions.ComputeError):
        rows.rows("data")  # proves the data study would have scanned them


def test_the_rows_scanned_are_the_rows_verified(run):
    rows = RunRows.read(run.root)
    path = run.root / "trials" / "t1" / "rows.parquet"
    on_disk = pl.concat([pl.read_parquet(run.rows_file(t)) for t in ("t1", "t4")])
    path.write_bytes(b"changed after the verification")
    assert rows.rows("data").equals(on_disk)  # same rows, same order, same factors per row, as written
    assert rows.rows("data")["factors"].unique().sort().to_list() == sorted(
        canonical_factors({"model.width": w, "sweep": "grid"}) for w in (16, 40))


def test_a_marker_that_names_no_study_is_filtered_by_its_rows(run):
    path = run.root / "trials" / "t1" / "trial.json"
    doc = json.loads(path.read_text())
    del doc["study"]  # a marker written before markers named their study: its rows are read for every study
    path.write_text(json.dumps(doc))
    rows = RunRows.read(run.root)
    assert set(rows.rows("data")["trial_id"]) == {"t1", "t4"}
    assert set(rows.rows("compute")["trial_id"]) == {"t0", "t3"}


def test_frames_are_one_chunk_and_metric_filters_are_applied(run):
    rows = RunRows.read(run.root)
    frame = rows.rows("bias")
    assert frame["trial_id"].unique().len() == 2 and all(frame[c].n_chunks() == 1 for c in frame.columns)
    assert set(rows.rows("bias", metrics=["accuracy"])["metric"]) == {"accuracy"}


def test_a_study_larger_than_a_chunk_is_collected_in_chunks_of_that_many_rows(run, monkeypatch):
    import dl_drawbacks.aggregate as aggregate

    rows = RunRows.read(run.root)
    whole = rows.scan("data").collect()
    monkeypatch.setattr(aggregate, "CHUNK_ROWS", 8)  # each trial has 8 rows: one chunk per trial
    frame = rows.rows("data")
    assert frame.equals(whole) and all(frame[c].n_chunks() == 2 for c in frame.columns)
    monkeypatch.setattr(aggregate, "CHUNK_ROWS", 16)
    assert rows.rows("data")["value"].n_chunks() == 1


def test_only_the_columns_asked_for_are_decoded_and_every_file_is_still_verified(run):
    rows = RunRows.read(run.root)
    frame = rows.rows("data", columns=["value", "trial_id"])  # given in any order, returned in the rows' order
    assert frame.columns == ["trial_id", "value"] and frame.equals(rows.rows("data").select("trial_id", "value"))
    assert "PROJECT 2/14 COLUMNS" in rows.scan("data", columns=["value", "trial_id"]).explain()  # in the scan
    assert rows.rows("data", metrics=["loss"], columns=["value"]).height == 8  # the filter's column need not be kept
    assert rows.rows("nothing", columns=["value"]).schema == {"value": pl.Float64}
    path = run.root / "trials" / "t4" / "rows.parquet"
    path.write_bytes(path.read_bytes()[:-1])  # a column no study asks for still counts: the whole file is hashed
    with pytest.raises(RunFolderError, match=r"t4/rows.parquet: rows do not match the checksum"):
        RunRows.read(run.root)


def test_a_column_the_rows_do_not_have_is_refused_in_one_line(run):
    with pytest.raises(ValueError, match=r"^columns: 'valeu' not row columns; choose from study, run_id, ") as err:
        RunRows.read(run.root).rows("data", columns=["value", "valeu"])
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("damage", ["truncated", "missing"])
def test_a_damaged_rows_file_is_named_in_one_line(run, damage):
    path = run.root / "trials" / "t2" / "rows.parquet"
    path.write_bytes(path.read_bytes()[:-5]) if damage == "truncated" else path.unlink()
    with pytest.raises(RunFolderError, match=r"t2/rows.parquet: rows do not match the checksum") as err:
        RunRows.read(run.root)
    assert "\n" not in str(err.value)


def test_a_damaged_marker_is_named_in_one_line(run):
    (run.root / "trials" / "t4" / "trial.json").write_text("{not json")
    with pytest.raises(RunFolderError, match=r"trials/t4/trial.json: damaged completion marker") as err:
        RunRows.read(run.root)
    assert "\n" not in str(err.value)


def test_a_damaged_rows_file_among_many_is_named(tmp_path):
    """Past the size where the bulk read runs on threads: the one damaged file of 600 is still the one named."""
    _write(LocalRunFolder(tmp_path), "t000", "data", width=8, n=1)
    first = tmp_path / "trials" / "t000"
    marker = json.loads((first / "trial.json").read_text())
    for k in range(1, 600):  # copies of one trial (same rows bytes, same checksum), each its own marker
        (tmp_path / "trials" / f"t{k:03d}").mkdir()
        (tmp_path / "trials" / f"t{k:03d}" / "rows.parquet").write_bytes((first / "rows.parquet").read_bytes())
        (tmp_path / "trials" / f"t{k:03d}" / "trial.json").write_text(json.dumps({**marker, "trial_id": f"t{k:03d}"}))
    assert len(RunRows.read(tmp_path).finished) == 600
    path = tmp_path / "trials" / "t417" / "rows.parquet"
    path.write_bytes(path.read_bytes().replace(b"loss", b"lost"))
    with pytest.raises(RunFolderError, match=r"trials/t417/rows.parquet: rows do not match the checksum"):
        RunRows.read(tmp_path)


@pytest.mark.parametrize("link", ["folder", "file"])
def test_a_link_in_a_trial_is_refused_in_one_line(run, tmp_path, link):
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    trial = run.root / "trials" / "t2"
    if link == "folder":
        trial.rename(elsewhere)
        trial.symlink_to(elsewhere, target_is_directory=True)
    else:
        (trial / "rows.parquet").rename(elsewhere)
        (trial / "rows.parquet").symlink_to(elsewhere)
    named = "trials/t2" if link == "folder" else "trials/t2/rows.parquet"
    with pytest.raises(RunFolderError, match=rf"{named} is a symbolic link inside the run folder") as err:
        RunRows.read(run.root)
    assert "\n" not in str(err.value)


def test_rows_files_carry_parquet_statistics(run):
    import pyarrow.parquet as pq

    stats = pq.ParquetFile(run.rows_file("t0")).metadata.row_group(0).column(0).statistics
    assert stats is not None and stats.has_min_max and stats.min == "compute"
