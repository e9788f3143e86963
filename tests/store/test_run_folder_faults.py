"""One fault suite, two run folders: the same damage gives the same outcome on local disk and on a real S3
endpoint (moto's server): a damaged marker, missing rows and a mismatching checksum are refused in one line
naming the trial folder; a foreign (copied or unplanned) trial folder is skipped and named; a finished trial
is never written over; a folder of an older format is not resumed."""

from __future__ import annotations

import pytest

from dl_drawbacks.errors import RunFolderError
from dl_drawbacks.rows import RowBuffer
from dl_drawbacks.storage import BucketRunFolder, LocalRunFolder, open_bucket
from dl_drawbacks.storage.run_folder import FORMAT, parquet_bytes


def _rows(trial_id="t1", n=3):
    buf = RowBuffer("compute", "run", trial_id, 0, {"model.size": "s"})
    for i in range(n):
        buf.add("loss", 1.0 / (i + 1), "nats", split="train", step=i)
    return buf.frame()


@pytest.fixture(params=["local", "bucket"])
def folder(request, tmp_path):
    """(the run folder, a function deleting one of its files) for each implementation."""
    if request.param == "local":
        return LocalRunFolder(tmp_path / "run"), lambda rel: (tmp_path / "run" / rel).unlink()
    s3 = request.getfixturevalue("s3")
    bucket = open_bucket(s3.uri(request.node.name.replace("[", "-").replace("]", "")))
    return BucketRunFolder(bucket), bucket.delete


def _finished(run):
    run.write_trial("t1", _rows(), {"status": "completed", "study": "compute"})
    assert run.is_finished("t1")


def test_a_damaged_marker_is_named(folder):
    run, _ = folder
    _finished(run)
    run.write_bytes("trials/t1/trial.json", b"{not json")
    with pytest.raises(RunFolderError, match=r"trials/t1/trial.json: damaged completion marker"):
        run.is_finished("t1")


def test_missing_rows_of_a_finished_trial_are_named(folder):
    run, delete = folder
    _finished(run)
    delete("trials/t1/rows.parquet")
    with pytest.raises(RunFolderError, match=r"rows do not match the checksum in trial.json \(damaged\); delete .*t1"):
        run.is_finished("t1")


def test_rows_that_mismatch_the_checksum_are_named(folder):
    run, _ = folder
    _finished(run)
    run.write_bytes("trials/t1/rows.parquet", parquet_bytes(_rows(n=5)))
    with pytest.raises(RunFolderError, match=r"rows do not match the checksum"):
        run.is_finished("t1")


def test_a_foreign_trial_folder_is_skipped_and_named(folder):
    run, _ = folder
    _finished(run)
    for name in ("rows.parquet", "trial.json"):  # cp -r trials/t1 trials/t1.bak
        run.write_bytes(f"trials/t1.bak/{name}", run.read_bytes(f"trials/t1/{name}"))
    run.write_trial("t9", _rows("t9"), {"status": "completed", "study": "compute"})  # not in the plan
    said = []
    kept = run.readable_trials(lambda m: m.trial_id in {"t1"}, say=said.append)
    assert kept == ["t1"]
    assert len(said) == 2 and "t1.bak: its marker names trial t1" in said[0] and "t9: not a trial of" in said[1]


def test_rows_without_a_marker_are_unfinished_and_a_failed_trial_runs_again(folder):
    run, _ = folder
    run.write_bytes("trials/t2/rows.parquet", b"PAR1 half an object")
    assert not run.is_finished("t2")
    run.write_trial("t3", _rows("t3", 0), {"status": "failed", "error": "boom"})
    assert not run.is_finished("t3")
    run.write_trial("t3", _rows("t3"), {"status": "completed"})  # a failed trial is re-run over its marker
    assert run.is_finished("t3")


def test_a_finished_trial_is_never_written_over(folder):
    run, _ = folder
    _finished(run)
    before = run.read_bytes("trials/t1/rows.parquet")
    with pytest.raises(RunFolderError, match=r"trials/t1: already finished \(completed\)"):
        run.write_trial("t1", _rows(n=7), {"status": "completed"})
    assert run.read_bytes("trials/t1/rows.parquet") == before and run.is_finished("t1")


def test_a_folder_of_an_older_format_is_not_resumed(folder):
    run, _ = folder
    run.write_spec("name: x\n")
    with pytest.raises(RunFolderError, match="made by an older dl-drawbacks .* cannot resume it: run into a new --out"):
        run.check_format()
    run.write_format()
    run.check_format()
    assert run.format_version() == FORMAT
