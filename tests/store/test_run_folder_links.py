"""The run folder is never a door (issue 29 item 2): a symbolic link inside it is refused in one line naming it,
and nothing is written through it or deleted behind it — the lock, the driver log, figures/, analysis-errors/."""

from __future__ import annotations

import pytest

from dl_drawbacks.driver_log import driver_log
from dl_drawbacks.errors import RunFolderError
from dl_drawbacks.storage.run_folder import ANALYSIS_ERRORS, FIGURES, LocalRunFolder, RunLock


@pytest.fixture
def elsewhere(tmp_path):
    """A user's folder outside the run folder, with a file of theirs."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("the user's\n")
    return mine


def _run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    return run


def test_a_linked_lock_is_refused_and_not_written(tmp_path, elsewhere):
    run = _run(tmp_path)
    (run / ".lock").symlink_to(elsewhere / "keep.txt")
    with pytest.raises(RunFolderError, match=r"run/\.lock is a symbolic link inside the run folder; remove it"):
        with RunLock(LocalRunFolder(run)):
            pass
    assert (elsewhere / "keep.txt").read_text() == "the user's\n"


def test_a_linked_driver_log_is_refused_and_not_appended_to(tmp_path, elsewhere):
    run = _run(tmp_path)
    (run / "driver.log").symlink_to(elsewhere / "keep.txt")
    with pytest.raises(RunFolderError, match=r"run/driver\.log is a symbolic link"):
        with driver_log(run):
            print("never")
    assert (elsewhere / "keep.txt").read_text() == "the user's\n"


@pytest.mark.parametrize("name", [FIGURES, ANALYSIS_ERRORS])
def test_a_linked_folder_is_neither_written_into_nor_emptied(tmp_path, elsewhere, name):
    run = _run(tmp_path)
    (run / name).symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "compute.txt").write_text("also the user's\n")
    folder = LocalRunFolder(run)
    with pytest.raises(RunFolderError, match=rf"run/{name} is a symbolic link"):
        folder.clear(name, "*.txt")
    with pytest.raises(RunFolderError, match=rf"run/{name} is a symbolic link"):
        folder.write_bytes(f"{name}/compute.txt", b"overwritten")
    with pytest.raises(RunFolderError, match=rf"run/{name} is a symbolic link"):
        folder.folder(name)
    assert sorted(p.name for p in elsewhere.iterdir()) == ["compute.txt", "keep.txt"]
    assert (elsewhere / "compute.txt").read_text() == "also the user's\n"


def test_a_linked_trial_folder_is_refused(tmp_path, elsewhere):
    run = _run(tmp_path)
    (run / "trials").mkdir()
    (run / "trials" / "t1").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(RunFolderError, match=r"trials/t1 is a symbolic link"):
        LocalRunFolder(run).write_bytes("trials/t1/rows.parquet", b"PAR1")
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]


def test_analyze_through_a_linked_analysis_errors_folder_exits_2_and_deletes_nothing(tmp_path, elsewhere, capsys):
    from dl_drawbacks.cli import main

    run = _run(tmp_path)
    (run / "spec.yaml").write_text("name: t\nversion: 1\ntracking: {mode: disabled}\nstudies:\n  - kind: compute\n")
    (run / ANALYSIS_ERRORS).symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "compute.txt").write_text("also the user's\n")
    assert main(["analyze", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{ANALYSIS_ERRORS} is a symbolic link" in err
    assert (elsewhere / "compute.txt").read_text() == "also the user's\n"
