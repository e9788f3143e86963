"""Copies between a bucket run folder and local folders, at defined points.

- The driver works on a local staging folder (``staging_folder``): ``pull`` fills it from the bucket when
  the run starts, after each trial and before the analysis; ``push`` uploads what the driver wrote (spec,
  env, findings, report, figures, the driver log, the markers it records for trials that died) and never
  replaces a trial the bucket already holds a marker for: the bucket is the truth for every trial.
- A trial writes into its own local mirror (``trial_mirror``) on whichever node runs it, then uploads its
  rows object, then its other files, then its marker: a multi-node run needs no shared disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from ..errors import RunFolderError
from .files import atomic_write_bytes
from .bucket import Bucket, is_uri, open_bucket
from .run_folder import ENV, LOCK, MARKER, RAY_TRAIN, RAY_TUNE, ROWS, SPEC, TRIALS, BucketRunFolder, trial_rel

NOT_MIRRORED = (f"{RAY_TUNE}/", f"{RAY_TRAIN}/", LOCK)  # Ray's own storage and the lock stay in the bucket


def staging_folder(uri: str) -> Path:
    """The driver's local copy of a bucket run folder: ``$DL_DRAWBACKS_STAGING`` or ``~/.cache/dl-drawbacks``,
    one folder per URI."""
    base = Path(os.environ.get("DL_DRAWBACKS_STAGING") or Path.home() / ".cache" / "dl-drawbacks" / "staging")
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", uri.split("://", 1)[-1])[-80:]
    return base / f"{name}-{hashlib.sha256(uri.encode()).hexdigest()[:8]}"


def _trial_of(rel: str) -> str | None:
    parts = rel.split("/")
    return parts[1] if len(parts) == 3 and parts[0] == TRIALS else None


def _download(bucket: Bucket, rel: str, local: Path) -> None:
    data = bucket.read_bytes(rel)
    if data is not None:
        atomic_write_bytes(local / rel, data)


def pull_trial(bucket: Bucket, local: Path, trial_id: str) -> bool:
    """The bucket's copy of one trial into ``local`` (rows first, marker last); True when copied. The run
    folder's one rule applies (``RunFolder.is_finished``): a damaged marker, or finished rows that do not match
    it, is refused in one line. A local copy with the same marker is kept as it is."""
    folder = trial_rel(trial_id)
    marker = bucket.read_bytes(trial_rel(trial_id, MARKER))
    mine = local / folder / MARKER
    if marker is None or (mine.exists() and mine.read_bytes() == marker):
        return False
    BucketRunFolder(bucket).is_finished(trial_id)  # raises on damage
    rows = bucket.read_bytes(trial_rel(trial_id, ROWS))
    if rows is not None:
        atomic_write_bytes(local / folder / ROWS, rows)
    for rel in bucket.listing(folder):
        if not rel.endswith((f"/{MARKER}", f"/{ROWS}")):
            _download(bucket, rel, local)
    atomic_write_bytes(mine, marker)
    return True


def pull(bucket: Bucket, local: Path) -> list[str]:
    """Every trial with a marker, and every other object ``local`` lacks; returns those other objects' paths."""
    objects = bucket.listing()
    for trial_id in sorted({t for t in map(_trial_of, objects) if t}):
        pull_trial(bucket, local, trial_id)
    skipped = (*NOT_MIRRORED, f"{TRIALS}/")
    fetched = [rel for rel in objects if not rel.startswith(skipped) and not (local / rel).exists()]
    for rel in fetched:
        _download(bucket, rel, local)
    return fetched


def _local_files(local: Path) -> list[str]:
    return sorted(str(p.relative_to(local)) for p in local.rglob("*")
                  if p.is_file() and not p.name.endswith(".tmp") and p.name != LOCK)


def push_trial(bucket: Bucket, local: Path, trial_id: str, *, replace: bool, fence=lambda what: None) -> bool:
    """One local trial folder into the bucket: rows, then its other files, then the marker (so no reader takes
    half a trial as finished). Without ``replace`` a trial the bucket holds a marker for is left as it is; a
    trial the bucket holds as finished is never replaced (refused in one line). ``fence(what)`` is called
    before the first upload and before the marker (a worker's check of its driver's lock)."""
    folder = local / TRIALS / trial_id
    if not (folder / MARKER).exists():
        return False
    held = bucket.read_bytes(trial_rel(trial_id, MARKER))
    if held is not None and (not replace or held == (folder / MARKER).read_bytes()):
        return False  # the bucket's own, or this very trial already there
    remote = BucketRunFolder(bucket).marker(trial_id)
    if remote is not None and remote.finished:
        raise RunFolderError(f"{bucket.url(trial_rel(trial_id))}: already finished ({remote.status}); a finished "
                             f"trial's rows are never replaced")
    files = sorted(_local_files(folder), key=lambda rel: (rel != ROWS, rel))
    fence(f"trial {trial_id}'s rows")
    for rel in [r for r in files if r != MARKER]:
        bucket.upload(trial_rel(trial_id, rel), folder / rel)
    fence(f"trial {trial_id}'s marker")
    bucket.upload(trial_rel(trial_id, MARKER), folder / MARKER)
    return True


class StagedRun:
    """The driver's staging folder of a bucket run: ``pull`` before reading, ``push`` after writing."""

    def __init__(self, bucket: Bucket, local: Path, *, fence=lambda: None, token: dict | None = None) -> None:
        self.bucket, self.local = bucket, local
        self.fence = fence  # called before every write: BucketLock.check, which stops a run that lost its lock
        self.token = token  # the lock's fencing token, passed to every trial: each checks it before it writes
        self._pushed: dict[str, int] = {}  # path -> mtime at its last push

    def pull(self) -> None:
        for rel in pull(self.bucket, self.local):
            self._pushed[rel] = (self.local / rel).stat().st_mtime_ns

    def pull_trial(self, trial_id: str) -> None:
        pull_trial(self.bucket, self.local, trial_id)

    def push_file(self, rel: str) -> None:
        """One driver-written file (e.g. the driver log) to the bucket, now."""
        if (self.local / rel).is_file():
            self.fence()
            self.bucket.upload(rel, self.local / rel)
            self._pushed[rel] = (self.local / rel).stat().st_mtime_ns

    def push(self) -> None:
        """What the driver wrote: trials the bucket has no marker for, and every other file that is new or
        changed since the last push (findings, report, figures, driver log, W&B files)."""
        self.fence()
        remote = self.bucket.listing()
        for rel in _local_files(self.local):
            trial_id = _trial_of(rel)
            if trial_id is not None:
                if rel.endswith(f"/{MARKER}"):
                    push_trial(self.bucket, self.local, trial_id, replace=False)
                continue
            mtime = (self.local / rel).stat().st_mtime_ns
            if rel in remote and self._pushed.get(rel) == mtime:
                continue
            self.bucket.upload(rel, self.local / rel)
            self._pushed[rel] = mtime


@contextlib.contextmanager
def trial_mirror(run_uri: str, trial_id: str, fence: dict | None = None) -> Iterator[Path]:
    """A local run folder for one trial on this node: the spec, the environment and the trial's own objects from the
    bucket; whatever the trial wrote goes back when it ends (rows, other files, then the marker), and the
    folder is removed. A trial that raises uploads what it wrote too (its failed marker). With ``fence`` (the
    driver's lock token) nothing is uploaded once another run holds the lock: refused in one line (LockLost)."""
    from .lock import check_fence

    bucket = open_bucket(run_uri)
    check = (lambda what: check_fence(bucket, fence, what)) if fence else (lambda what: None)
    local = Path(tempfile.mkdtemp(prefix=f"dl-drawbacks-{trial_id[:40]}-"))
    try:
        for rel in (SPEC, ENV):
            _download(bucket, rel, local)
        pull_trial(bucket, local, trial_id)
        before = {rel: (local / rel).stat().st_mtime_ns for rel in _local_files(local)}
        try:
            yield local
        finally:
            push_trial(bucket, local, trial_id, replace=True, fence=check)
            for rel in _local_files(local):
                if _trial_of(rel) is None and before.get(rel) != (local / rel).stat().st_mtime_ns:
                    check(rel)
                    bucket.upload(rel, local / rel)
    finally:
        shutil.rmtree(local, ignore_errors=True)


def remove_checkpoints(address: str, trial_id: str) -> None:
    """A finished trial's Ray Train checkpoints (``ray_train/<trial_id>``) in the run folder at ``address`` (a bucket
    URI or a local path)."""
    if is_uri(address):
        open_bucket(address).delete_dir(f"{RAY_TRAIN}/{trial_id}")
    else:
        shutil.rmtree(Path(address) / RAY_TRAIN / trial_id, ignore_errors=True)


def checkpoint_root(address: str) -> str:
    """Where Ray Train keeps a trial's checkpoints: the run folder's ``ray_train``, in the bucket when it is on one."""
    if is_uri(address):
        return f"{address}/{RAY_TRAIN}"
    return str(Path(address).resolve() / RAY_TRAIN)
