"""The run folder as one object: its layout, its format version, and every read and write of its trials.

Modelled on Ray Tune's ``StorageContext`` (``python/ray/train/_internal/storage.py``): one class owns every
path of a run, on local disk (``LocalRunFolder``) or under an object-store prefix (``BucketRunFolder``),
and nothing else spells a file name of it. Layout::

    DIR/format.json  spec.yaml  env.json  findings.json  headlines.json  report.md  report.html  figures/*.png
    DIR/driver.log
    DIR/analysis-errors/<kind>.txt  wandb-reports/  ray_tune/  ray_train/  .lock
    DIR/trials/<trial_id>/rows.parquet   the trial's metric rows
    DIR/trials/<trial_id>/trial.json     its marker: status, row count, sha256 of the rows
    DIR/trials/<trial_id>/error.txt      a failed trial's traceback

One rule decides a trial's state, for both implementations (``RunFolder.is_finished``): no marker is
unfinished; a marker that is not a JSON object, or a finished marker whose rows are missing or differ
from its sha256, is damaged and refused in one line naming the folder to delete; a finished marker is
never written over (``write_trial`` refuses it), so a finished trial's rows never change.

Locally, rows go first and the marker last, each written to a temporary name and renamed into place,
and no write follows a symbolic link: a link anywhere under the root is refused in one line naming it.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import json
import os
import socket
import stat
import sys
import time
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import polars as pl

from ..errors import RunFolderError
from ..headline import Headline
from . import stopping
from .files import atomic_write_bytes, json_safe

FORMAT = 2  # 2: hparams trial ids include the trial's role (sweep); the format file is new
FORMAT_FILE = "format.json"
SPEC = "spec.yaml"
ENV = "env.json"
FINDINGS = "findings.json"
HEADLINES = "headlines.json"  # each study's headlines, computed once by the analysis pass
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
FIGURES = "figures"
ANALYSIS_ERRORS = "analysis-errors"
WANDB_REPORTS = "wandb-reports"
DRIVER_LOG = "driver.log"
LOCK = ".lock"
TRIALS = "trials"
ROWS = "rows.parquet"
MARKER = "trial.json"
TRIAL_ERROR = "error.txt"
RAY_TUNE = "ray_tune"
RAY_TRAIN = "ray_train"
STOPPING = ", stopping"  # appended to the local lock's holder once it was told to stop
NOT_A_RUN = (LOCK, DRIVER_LOG)  # what a folder may hold before its first run wrote its spec
FINISHED = ("completed", "diverged", "stopped_early")


def trial_rel(trial_id: str, name: str = "") -> str:
    """A trial's folder (or a file in it) relative to the run folder."""
    return f"{TRIALS}/{trial_id}/{name}" if name else f"{TRIALS}/{trial_id}"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def json_bytes(obj: Any) -> bytes:
    """Strict JSON (NaN and ±inf as null), sorted keys, one trailing newline."""
    return (json.dumps(json_safe(obj), indent=2, sort_keys=True, default=str, allow_nan=False) + "\n").encode()


@dataclass(frozen=True)
class Marker:
    """A trial's completion marker: its id, status and every outcome field (``fields``)."""

    trial_id: str
    status: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    @classmethod
    def parse(cls, data: bytes, *, where: str | Callable[[], str]) -> "Marker":
        """The marker in ``data``; a marker that is not a JSON object is damaged (one line naming ``where``, the
        marker's location or a function giving it, called only for that line)."""
        try:
            doc = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError):
            doc = None
        if not isinstance(doc, dict):
            where = where if isinstance(where, str) else where()
            raise RunFolderError(f"{where}: damaged completion marker (not a JSON object); delete that trial folder "
                                 f"to re-run it")
        return cls(trial_id=str(doc.get("trial_id")), status=str(doc.get("status")), fields=doc)


def in_threads(fn: Callable[[Any], Any], items: list) -> list:
    """``[fn(x) for x in items]`` on a few threads (for network reads); the first error raises."""
    if len(items) < 64:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(fn, items))


def in_slices(fn: Callable[[Any], Any], items: list) -> list:
    """``[fn(x) for x in items]`` with ``items`` cut into one contiguous slice per CPU (at most 8), each slice on
    its own thread: local file reads and sha256 release the GIL, and there is no per-item scheduling cost."""
    n = min(8, os.cpu_count() or 1, len(items) // 256)
    if n < 2:
        return [fn(x) for x in items]
    size = -(-len(items) // n)
    with ThreadPoolExecutor(max_workers=n) as pool:
        parts = pool.map(lambda k: [fn(x) for x in items[k * size:(k + 1) * size]], range(n))
        return [out for part in parts for out in part]


def link_refused(path: str) -> RunFolderError:
    return RunFolderError(f"{path} is a symbolic link inside the run folder; remove it (dl-drawbacks never writes "
                          f"through a link)")


def sha256_or_none(data: bytes | None) -> str | None:
    return None if data is None else sha256_bytes(data)


def parquet_bytes(rows: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    rows.write_parquet(buf, statistics=True)  # min/max per column: a scan skips what its filter excludes
    return buf.getvalue()


class RunFolder(ABC):
    """What every run folder does, on top of four primitives an implementation provides: ``read_bytes``,
    ``write_bytes``, ``names`` (entries directly under a folder) and ``url`` (a location for messages)."""

    address: str

    @abstractmethod
    def read_bytes(self, rel: str) -> bytes | None:
        """A primitive each implementation provides."""

    @abstractmethod
    def write_bytes(self, rel: str, data: bytes) -> None:
        """A primitive each implementation provides."""

    @abstractmethod
    def names(self, rel: str = "") -> list[str]:
        """A primitive each implementation provides."""

    @abstractmethod
    def url(self, rel: str = "") -> str:
        """A primitive each implementation provides."""

    # --- the folder as a whole
    def format_version(self) -> int | None:
        """The run-folder format this folder was made with; None for a folder made before formats were recorded."""
        data = self.read_bytes(FORMAT_FILE)
        if data is None:
            return None
        try:
            return int(json.loads(data)["format"])
        except (ValueError, KeyError, TypeError):
            raise RunFolderError(f"{self.url(FORMAT_FILE)}: damaged; it should hold {{\"format\": {FORMAT}}}") from None

    def check_format(self) -> None:
        """Refuse, in one line, to resume a folder of another format (its trial ids would not match)."""
        found = self.format_version()
        if found != FORMAT:
            made = "an older dl-drawbacks (no format recorded)" if found is None else f"run-folder format {found}"
            raise RunFolderError(f"{self.address} was made by {made}; this dl-drawbacks reads format {FORMAT} and "
                                 f"cannot resume it: run into a new --out")

    def write_format(self) -> None:
        self.write_bytes(FORMAT_FILE, json_bytes({"format": FORMAT}))

    def spec_text(self) -> str | None:
        data = self.read_bytes(SPEC)
        return None if data is None else data.decode("utf-8", "replace")

    def write_spec(self, text: str) -> None:
        self.write_bytes(SPEC, text.encode())

    def env(self) -> dict[str, Any]:
        """env.json as a dict ({} when absent); damaged is one line saying what to do."""
        data = self.read_bytes(ENV)
        try:
            env = json.loads(data) if data is not None else {}
        except ValueError as exc:
            raise RunFolderError(f"{self.url(ENV)}: damaged ({type(exc).__name__}); delete it to report without "
                                 f"the environment") from None
        if not isinstance(env, dict):
            raise RunFolderError(f"{self.url(ENV)}: not a JSON object; delete it to report without the environment")
        return env

    def write_env(self, env: dict[str, Any]) -> None:
        self.write_bytes(ENV, json_bytes(env))

    def findings(self) -> dict[str, Any] | None:
        """findings.json (None when the run has not been analysed); unreadable is one line."""
        data = self.read_bytes(FINDINGS)
        if data is None:
            return None
        try:
            found = json.loads(data)
        except ValueError as exc:
            raise RunFolderError(f"{self.url(FINDINGS)}: unreadable ({type(exc).__name__}); run "
                                 f"`dl-drawbacks analyze {self.address}` to rebuild it") from None
        return found if isinstance(found, dict) else {}

    def write_findings(self, findings: dict[str, Any]) -> None:
        self.write_bytes(FINDINGS, json_bytes(findings))

    def write_headlines(self, headlines: Mapping[str, list[Headline]]) -> None:
        doc = {kind: [h.record() for h in items] for kind, items in headlines.items()}
        self.write_bytes(HEADLINES, json_bytes(doc))

    def headlines(self) -> dict[str, list[Headline]]:
        """Each analysed study's headlines, as the analysis pass computed them; a folder analysed before they
        were stored, or a damaged file, is one line saying to analyse it again."""
        data = self.read_bytes(HEADLINES)
        redo = f"run `dl-drawbacks analyze {self.address}` to rebuild it"
        if data is None:
            raise RunFolderError(f"{self.url(HEADLINES)}: missing (analysed by an older dl-drawbacks?); {redo}")
        try:
            doc = json.loads(data)
            return {kind: [Headline.from_record(r) for r in items] for kind, items in doc.items()}
        except (ValueError, TypeError, AttributeError) as exc:
            raise RunFolderError(f"{self.url(HEADLINES)}: unreadable ({type(exc).__name__}); {redo}") from None

    def held(self) -> list[str]:
        """What the folder holds besides a lock and a driver log (empty: a new or empty folder)."""
        return [n for n in self.names() if n not in NOT_A_RUN]

    # --- trials
    def trial_names(self) -> list[str]:
        """The names of the folders under trials/ (not all need be trials: ``readable_trials`` says which)."""
        return sorted(self.names(TRIALS))

    def marker(self, trial_id: str) -> Marker | None:
        data = self.read_bytes(trial_rel(trial_id, MARKER))
        return None if data is None else Marker.parse(data, where=self.url(trial_rel(trial_id, MARKER)))

    def rows_bytes(self, trial_id: str) -> bytes | None:
        return self.read_bytes(trial_rel(trial_id, ROWS))

    def is_finished(self, trial_id: str) -> bool:
        """The one rule: a marker that says completed/diverged/stopped_early and rows with its sha256. A damaged
        marker, or finished rows missing or not matching, is refused in one line naming what to delete."""
        marker = self.marker(trial_id)
        return marker is not None and marker.finished and self.verify_rows(marker)

    def verify_rows(self, marker: Marker) -> bool:
        """True when a finished trial's rows match its marker's sha256; refused in one line naming what to delete."""
        self.verified_rows([marker])
        return True

    def verified_rows(self, markers: list[Marker]) -> list[bytes]:
        """The rows files of finished trials, each read whole and hashed once, in bulk (``trial_files``, sha256 on
        a few threads), checked against its marker's sha256; the first that differs or is missing is refused in
        one line naming what to delete. What it returns is exactly what was verified."""
        blobs = self.trial_files([m.trial_id for m in markers], ROWS)
        for marker, blob, digest in zip(markers, blobs, in_slices(sha256_or_none, blobs)):
            if blob is None or digest != marker.get("rows_sha256"):
                trial_id = marker.trial_id
                raise RunFolderError(f"{self.url(trial_rel(trial_id, ROWS))}: rows do not match the checksum in "
                                     f"{MARKER} (damaged); delete {self.url(trial_rel(trial_id))} to re-run that trial")
        return blobs

    def trial_files(self, trial_ids: list[str], name: str) -> list[bytes | None]:
        """The file ``name`` (a marker, the rows) of each trial, None where it is missing, read on a few threads."""
        return in_threads(lambda t: self.read_bytes(trial_rel(t, name)), trial_ids)

    def write_trial(self, trial_id: str, rows: pl.DataFrame, outcome: Mapping[str, Any]) -> Marker:
        """Rows first, then the marker: a crash in between leaves an unfinished trial, never a false one. A
        trial whose marker already says finished is never written over (refused in one line)."""
        old = self.marker(trial_id)
        if old is not None and old.finished:
            raise RunFolderError(f"{self.url(trial_rel(trial_id))}: already finished ({old.status}); a finished "
                                 f"trial's rows are never replaced")
        data = parquet_bytes(rows)
        self.write_bytes(trial_rel(trial_id, ROWS), data)
        doc = {**outcome, "trial_id": trial_id, "n_rows": rows.height, "rows_sha256": sha256_bytes(data)}
        self.write_bytes(trial_rel(trial_id, MARKER), json_bytes(doc))
        return Marker.parse(json_bytes(doc), where=self.url(trial_rel(trial_id, MARKER)))

    def write_trial_error(self, trial_id: str, text: str) -> None:
        self.write_bytes(trial_rel(trial_id, TRIAL_ERROR), text.encode())

    def readable_trials(self, admit: Callable[[Marker], bool] | None = None, *, say=None) -> list[str]:
        """The ids of ``readable_markers``."""
        return list(self.readable_markers(admit, say=say))

    def readable_markers(self, admit: Callable[[Marker], bool] | None = None, *, say=None) -> dict[str, Marker]:
        """The markers of the trial folders analysis may read, each read once: folders named as their marker's
        trial id and, with ``admit``, admitted by it (a trial of this run's plan). Every other folder is skipped
        and named in one line through ``say`` (a copy such as ``X.bak`` is never counted)."""
        keep = {}
        names = self.trial_names()
        markers = [None if data is None else Marker.parse(data, where=lambda n=name: self.url(trial_rel(n, MARKER)))
                   for name, data in zip(names, self.trial_files(names, MARKER))]
        for name, marker in zip(names, markers):
            why = ("no marker" if marker is None else
                   f"its marker names trial {marker.trial_id}" if marker.trial_id != name else
                   "not a trial of this run's plan" if admit is not None and not admit(marker) else None)
            if why is None:
                keep[name] = marker
            elif say is not None:
                say(f"skipped {self.url(trial_rel(name))}: {why}")
        return keep


class LocalRunFolder(RunFolder):
    """A run folder on local (or shared) disk. Writes are atomic and never follow a symbolic link."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.address = str(self.root)

    def url(self, rel: str = "") -> str:
        return str(self.root / rel) if rel else str(self.root)

    def path(self, rel: str = "") -> Path:
        """``root/rel``, refused in one line when it or a folder between it and the root is a symbolic link."""
        return Path(self._checked(rel))

    def _checked(self, rel: str) -> str:
        """``path`` as a string (analysis reads every trial's files through it: plain strings, one lstat a part)."""
        path = self.address
        for part in rel.split("/"):
            if part:
                path = f"{path}/{part}"
                if os.path.islink(path):
                    raise link_refused(path)
        return path

    def folder(self, rel: str) -> Path:
        """A sub-folder (figures/, analysis-errors/, a trial's folder), made when missing, never a link."""
        path = self.path(rel)
        path.mkdir(parents=True, exist_ok=True)
        return self.path(rel)

    def read_bytes(self, rel: str) -> bytes | None:
        try:
            fd = os.open(self._checked(rel), os.O_RDONLY | os.O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            return None
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return f.read()

    def write_bytes(self, rel: str, data: bytes) -> None:
        path = self.path(rel)
        self.folder(str(Path(rel).parent)) if "/" in rel else self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)  # a temporary file renamed over the name: a link there is replaced, not followed

    def names(self, rel: str = "") -> list[str]:
        path = self.path(rel)
        return sorted(p.name for p in path.iterdir()) if path.is_dir() else []

    def open_append(self, rel: str):
        """A text stream appending to ``rel`` (driver.log), opened without following a link."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path(rel), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        return os.fdopen(fd, "a", encoding="utf-8", errors="replace")

    def open_lock(self) -> int:
        """The lock file's descriptor (created when missing), opened without following a link."""
        self.root.mkdir(parents=True, exist_ok=True)
        return os.open(self.path(LOCK), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)

    def clear(self, rel: str, pattern: str) -> None:
        """Delete the files matching ``pattern`` in sub-folder ``rel`` (never through a link)."""
        folder = self.path(rel)
        for old in sorted(folder.glob(pattern)) if folder.is_dir() else []:
            if old.is_symlink() or old.is_file():
                old.unlink()

    def rows_file(self, trial_id: str) -> Path:
        """Where a trial's rows are, for polars to scan."""
        return self.path(trial_rel(trial_id, ROWS))

    def trial_files(self, trial_ids: list[str], name: str) -> list[bytes | None]:
        """In bulk: trials/ checked for a link once, then per trial one lstat of its folder (a link is refused in one
        line) and one open that does not follow a link; contiguous slices of the trials on a few threads."""
        trials = self._checked(TRIALS)
        return in_slices(lambda t: _read_file(f"{trials}/{t}", name), trial_ids)


def _read_file(folder: str, name: str) -> bytes | None:
    """The whole file ``folder/name`` (None when missing or not a plain file), refused in one line when the folder
    or the file is a symbolic link."""
    if os.path.islink(folder):
        raise link_refused(folder)
    path = f"{folder}/{name}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise link_refused(path) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        data = os.read(fd, info.st_size + 1)  # below 1 GiB, one read gives all a plain file has up to the size asked
        if len(data) <= info.st_size < 1 << 30:
            return data
        chunks = [data]  # a larger file, or one that grew since fstat: read on to its end
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 20))
        return b"".join(chunks)
    finally:
        os.close(fd)


class BucketRunFolder(RunFolder):
    """A run folder under an object-store prefix (``storage.bucket.Bucket``): one PUT replaces a whole object,
    so the rows object goes first and the marker object last."""

    def __init__(self, bucket: Any) -> None:
        self.bucket = bucket
        self.address = bucket.uri

    def url(self, rel: str = "") -> str:
        return self.bucket.url(rel)

    def read_bytes(self, rel: str) -> bytes | None:
        return self.bucket.read_bytes(rel)

    def write_bytes(self, rel: str, data: bytes) -> None:
        self.bucket.write_bytes(rel, data)

    def names(self, rel: str = "") -> list[str]:
        if not rel:
            return self.bucket.names()
        prefix = rel.rstrip("/") + "/"
        return sorted({k[len(prefix):].split("/", 1)[0] for k in self.bucket.listing(rel)})


class RunLock:
    """An exclusive lock on a local run folder for the lifetime of one `run` (released by the OS on exit). The lock
    file names its holder (``host H pid P``), followed by ``, stopping`` once the holder was told to stop
    (stopping.py): ``stopping_wait_s`` (a `--resume`) waits that long for such a holder to let go."""

    def __init__(self, folder: LocalRunFolder, *, stopping_wait_s: float = 0.0) -> None:
        self.folder, self.stopping_wait_s = folder, stopping_wait_s
        self._fd: int | None = None
        self._holder = f"host {socket.gethostname()} pid {os.getpid()}"  # a pid alone means nothing across pods

    def __enter__(self) -> "RunLock":
        fd = self.folder.open_lock()
        if not self._acquired(fd):
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            waited = (f", which did not let go in {self.stopping_wait_s:g} s"
                      if holder.endswith(STOPPING) and self.stopping_wait_s else "")
            raise RunFolderError(f"{self.folder.root} is in use by another dl-drawbacks run ({holder}){waited}; wait "
                                 f"for it or choose another --out")
        os.ftruncate(fd, 0)
        os.pwrite(fd, self._holder.encode(), 0)
        self._fd = fd
        stopping.hold(self)
        return self

    def _acquired(self, fd: int) -> bool:
        """Take the flock; a holder that is stopping is waited for (one line), up to ``stopping_wait_s``."""
        deadline, said = time.monotonic() + self.stopping_wait_s, False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
                if not holder.endswith(STOPPING) or time.monotonic() >= deadline:
                    return False
                if not said:
                    print(f"waiting up to {self.stopping_wait_s:g} s for the stopped run ({holder}) to let go of "
                          f"{self.folder.root}", file=sys.stderr, flush=True)
                    said = True
                time.sleep(stopping.POLL_S)

    def mark_stopping(self) -> None:
        if self._fd is not None:
            os.pwrite(self._fd, f"{self._holder}{STOPPING}".encode(), 0)  # one write that extends the record

    def __exit__(self, *exc: object) -> None:
        stopping.release(self)
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def open_run_folder(address: str | Path) -> RunFolder:
    """The run folder at ``address``: a bucket URI (checked to be reachable) or a local path."""
    from .bucket import is_uri, open_bucket

    if is_uri(address):
        return BucketRunFolder(open_bucket(str(address)))
    from .files import local_run_folder

    return LocalRunFolder(local_run_folder(address))
