"""Run folder: atomic rows + completion marker, checksum verified on load, exclusive lock."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from dl_drawbacks.errors import RunFolderError
from dl_drawbacks.rows import RowBuffer
from dl_drawbacks.storage.run_folder import LocalRunFolder, RunLock


def _rows(n=3):
    buf = RowBuffer("compute", "run", "t1", 0, {"model.size": "s"})
    for i in range(n):
        buf.add("loss", 1.0 / (i + 1), "nats", split="train", step=i)
    return buf.frame()


def test_finished_only_with_marker_and_matching_rows(tmp_path):
    assert not LocalRunFolder(tmp_path).is_finished("t1")
    LocalRunFolder(tmp_path).write_trial("t1", _rows(), {"status": "completed"})
    assert LocalRunFolder(tmp_path).is_finished("t1")
    assert pl.read_parquet((Path(tmp_path) / "trials" / "t1") / "rows.parquet").height == 3
    assert not list((Path(tmp_path) / "trials" / "t1").glob(".*tmp"))


def test_failed_trial_is_not_finished(tmp_path):
    LocalRunFolder(tmp_path).write_trial("t1", _rows(0), {"status": "failed", "error": "ValueError: boom"})
    assert not LocalRunFolder(tmp_path).is_finished("t1")


def test_damaged_rows_are_named(tmp_path):
    LocalRunFolder(tmp_path).write_trial("t1", _rows(), {"status": "completed"})
    rows = (Path(tmp_path) / "trials" / "t1") / "rows.parquet"
    rows.write_bytes(rows.read_bytes()[:-10])
    with pytest.raises(RunFolderError, match="rows.parquet: rows do not match the checksum"):
        LocalRunFolder(tmp_path).is_finished("t1")


def test_rows_without_marker_are_an_unfinished_trial(tmp_path):
    LocalRunFolder(tmp_path).write_trial("t1", _rows(), {"status": "completed"})
    ((Path(tmp_path) / "trials" / "t1") / "trial.json").unlink()
    assert not LocalRunFolder(tmp_path).is_finished("t1")


def test_second_lock_on_the_same_folder_refuses(tmp_path):
    import os
    import socket

    with RunLock(LocalRunFolder(tmp_path)):
        with pytest.raises(RunFolderError, match="in use by another dl-drawbacks run") as refused:
            with RunLock(LocalRunFolder(tmp_path)):
                pass
        holder = f"host {socket.gethostname()} pid {os.getpid()}"  # a pid alone means nothing across pods
        assert (tmp_path / ".lock").read_text() == holder and holder in str(refused.value)
    with RunLock(LocalRunFolder(tmp_path)):  # released after the first run
        pass


def test_json_files_are_strict_json(tmp_path):
    import json

    from dl_drawbacks.storage.files import atomic_write_json

    atomic_write_json(tmp_path / "f.json", {"a": float("nan"), "b": [1.0, float("inf")], "c": {"d": -float("inf"), "e": 2.5}})
    text = (tmp_path / "f.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": None, "b": [1.0, None], "c": {"d": None, "e": 2.5}}


def test_local_run_folder_resolves_plain_paths(tmp_path, monkeypatch):
    from dl_drawbacks.storage.files import local_run_folder

    monkeypatch.chdir(tmp_path)
    assert local_run_folder("runs/a") == tmp_path / "runs" / "a"
    assert local_run_folder(tmp_path / "b:c") == tmp_path / "b:c"  # a colon alone is a file name, not a URI
    assert local_run_folder(f"file://{tmp_path}/d") == tmp_path / "d"
    with pytest.raises(RunFolderError, match="s3://b/p: not a local folder"):
        local_run_folder("s3://b/p")


def test_analysis_reads_a_copied_trial_folder_once_and_says_so(tmp_path, capsys):
    """``cp -r trials/t1 trials/t1.bak``: aggregation reads t1 once; ``analyze`` names the copy it skips."""
    import shutil

    from dl_drawbacks.aggregate import load_rows, trial_outcomes

    LocalRunFolder(tmp_path).write_trial("t1", _rows(), {"status": "completed", "study": "compute"})
    shutil.copytree(tmp_path / "trials" / "t1", tmp_path / "trials" / "t1.bak")
    assert load_rows(tmp_path).height == 3
    assert trial_outcomes(tmp_path)["trial_id"].to_list() == ["t1"]
    assert load_rows(tmp_path, admit=lambda m: m.trial_id != "t1").height == 0  # not of the plan: not read
