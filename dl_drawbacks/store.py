"""The run folder: self-describing, written atomically, locked while a run uses it.

Layout::

    DIR/spec.yaml  env.json  findings.json  report.md  report.html  figures/*.png
    DIR/trials/<trial_id>/rows.parquet   the trial's metric rows
    DIR/trials/<trial_id>/trial.json     completion marker: status, row count, sha256 of rows

Every file is written to a temporary name and renamed into place, so a reader never sees half a
file; a trial counts as finished only when its marker says so and the rows' checksum matches.
``DIR/driver.log`` holds what the driver printed (driver_log.py). A run folder on object storage has the
same layout under its prefix, with ``.lock`` an object (storage/).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import re
import socket
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from .errors import RunFolderError

TRIALS = "trials"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _umask()  # read once, at import (changing it is process-wide and racy with threads)
FILE_MODE = 0o666 & ~UMASK  # what open() would give: teammates on shared storage can read a run


URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def local_run_folder(out: str | Path) -> Path:
    """``out`` (a path or ``file://`` URI) as an absolute local folder; any other URI is refused in one line,
    never turned into a local folder named ``s3:`` (a bucket run goes through ``storage``)."""
    text = str(out)
    if text.lower().startswith("file://"):
        return Path(text[len("file://"):]).resolve()
    if URI.match(text):
        raise RunFolderError(f"--out {out}: not a local folder; object storage is opened by dl_drawbacks.storage")
    return Path(out).resolve()


def temp_file(folder: Path, name: str) -> tuple[int, str]:
    """A temporary file next to ``folder/name``, with the mode a plain open() would give it (mkstemp's is 0600)."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    os.fchmod(fd, FILE_MODE)
    return fd, tmp


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_file(path.parent, path.name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_safe(obj: Any) -> Any:
    """NaN and ±inf become null, so every JSON file we write is strict JSON (readable by jq, JS, W&B)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def atomic_write_json(path: Path, obj: Any) -> None:
    text = json.dumps(json_safe(obj), indent=2, sort_keys=True, default=str, allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode())


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def trial_dir(run_dir: Path, trial_id: str) -> Path:
    return Path(run_dir) / TRIALS / trial_id


def write_trial(run_dir: Path, trial_id: str, rows: pl.DataFrame, outcome: dict[str, Any]) -> None:
    """Rows first, then the marker: a crash in between leaves an unfinished trial, never a false one."""
    folder = trial_dir(run_dir, trial_id)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_file(folder, "rows")
    os.close(fd)
    try:
        rows.write_parquet(tmp, statistics=False)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, folder / "rows.parquet")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    marker = {**outcome, "trial_id": trial_id, "n_rows": rows.height,
              "rows_sha256": sha256_file(folder / "rows.parquet")}
    atomic_write_json(folder / "trial.json", marker)


def read_marker(run_dir: Path, trial_id: str) -> dict[str, Any] | None:
    path = trial_dir(run_dir, trial_id) / "trial.json"
    if not path.exists():
        return None
    try:
        marker = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError):
        marker = None
    if not isinstance(marker, dict):
        raise RunFolderError(f"{path}: damaged completion marker (not a JSON object); delete that trial folder "
                             f"to re-run it")
    return marker


def is_finished(run_dir: Path, trial_id: str) -> bool:
    """True when the trial's marker says completed (or diverged, or stopped_early by a scheduler such
    as ASHA) and its rows match the checksum."""
    marker = read_marker(run_dir, trial_id)
    if not marker or marker.get("status") not in ("completed", "diverged", "stopped_early"):
        return False
    rows = trial_dir(run_dir, trial_id) / "rows.parquet"
    if not rows.exists() or sha256_file(rows) != marker.get("rows_sha256"):
        raise RunFolderError(f"{rows}: rows do not match the checksum in trial.json (damaged); delete {rows.parent} "
                             f"to re-run that trial")
    return True


class RunLock:
    """An exclusive lock on a run folder for the lifetime of one `run` (released by the OS on exit)."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / ".lock"
        self._fd: int | None = None

    def __enter__(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = self.path.read_text().strip() or "another process"
            raise RunFolderError(f"{self.path.parent} is in use by another dl-drawbacks run ({holder}); wait for it "
                                 f"or choose another --out") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"host {socket.gethostname()} pid {os.getpid()}".encode())  # a pid alone means nothing across pods
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
