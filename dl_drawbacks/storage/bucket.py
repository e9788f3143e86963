"""A run folder on object storage (``--out s3://bucket/prefix``, ``gs://…``, any URI ``pyarrow.fs`` opens).

The filesystem comes from ``pyarrow.fs.FileSystem.from_uri``, so endpoint and credentials come from the usual
environment (S3: ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` or ``AWS_PROFILE``,
``AWS_DEFAULT_REGION``; GCS: ``GOOGLE_APPLICATION_CREDENTIALS``), the same way Ray Train/Tune open a
``storage_path`` URI. One PUT replaces a whole object (S3 and GCS never show half an object), so the local
store's write-then-rename becomes plain ordering here: a trial's rows object first, its marker object last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import RunFolderError

URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
CREDENTIALS_HINT = ("check AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and "
                    "AWS_DEFAULT_REGION for s3://, GOOGLE_APPLICATION_CREDENTIALS for gs://")


def is_uri(out: Any) -> bool:
    """True for ``scheme://…`` other than ``file://`` (a local folder)."""
    match = URI.match(str(out))
    return bool(match) and match.group(1).lower() != "file"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


@dataclass(frozen=True)
class Bucket:
    """The objects under one URI prefix; every path argument is relative to the prefix."""

    uri: str
    fs: Any
    root: str

    def path(self, rel: str = "") -> str:
        return f"{self.root}/{rel}" if rel else self.root

    def url(self, rel: str = "") -> str:
        return f"{self.uri}/{rel}" if rel else self.uri

    def read_bytes(self, rel: str) -> bytes | None:
        """The object's bytes, or None when there is no such object."""
        import pyarrow.fs as pafs

        if self.fs.get_file_info(self.path(rel)).type != pafs.FileType.File:
            return None
        with self.fs.open_input_stream(self.path(rel)) as f:
            return f.read()

    def write_bytes(self, rel: str, data: bytes) -> None:
        with self.fs.open_output_stream(self.path(rel)) as f:
            f.write(data)

    def upload(self, rel: str, local_path: Any) -> None:
        with open(local_path, "rb") as f:
            self.write_bytes(rel, f.read())

    def listing(self, rel: str = "", *, recursive: bool = True) -> dict[str, int]:
        """{relative path: size} of every object under ``rel`` (empty when there is none)."""
        import pyarrow.fs as pafs

        base = self.path(rel)
        infos = self.fs.get_file_info(pafs.FileSelector(base, recursive=recursive, allow_not_found=True))
        start = len(self.root) + 1
        return {i.path[start:]: i.size for i in infos if i.type == pafs.FileType.File}

    def names(self) -> list[str]:
        """The names directly under the prefix (objects and folders)."""
        import pyarrow.fs as pafs

        infos = self.fs.get_file_info(pafs.FileSelector(self.root, recursive=False, allow_not_found=True))
        return sorted(i.base_name for i in infos if i.type != pafs.FileType.NotFound)

    def delete(self, rel: str) -> None:
        import pyarrow.fs as pafs

        if self.fs.get_file_info(self.path(rel)).type == pafs.FileType.File:
            self.fs.delete_file(self.path(rel))

    def delete_dir(self, rel: str) -> None:
        """Every object under ``rel`` (nothing when there is none)."""
        import pyarrow.fs as pafs

        if self.fs.get_file_info(self.path(rel)).type == pafs.FileType.Directory:
            self.fs.delete_dir(self.path(rel))


def open_bucket(uri: str) -> Bucket:
    """The bucket prefix ``uri`` names, checked to exist and be readable; a bad scheme, a missing bucket or
    refused credentials is one line (RunFolderError) saying what to fix."""
    import pyarrow
    import pyarrow.fs as pafs

    uri = str(uri).rstrip("/")
    from .timeouts import bounded

    try:
        fs, root = pafs.FileSystem.from_uri(uri)
        fs = bounded(fs)
    except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError, ValueError) as exc:
        raise RunFolderError(f"--out {uri}: {_first_line(exc)}; use s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or a "
                             f"local folder") from None
    root = root.rstrip("/")
    bucket_name = root.split("/", 1)[0]
    if not bucket_name or "/" not in root:
        raise RunFolderError(f"--out {uri}: name a prefix inside the bucket (e.g. {uri}/my-run), not the bucket itself")
    try:
        found = fs.get_file_info(bucket_name).type
        if found == pafs.FileType.NotFound:
            raise RunFolderError(f"--out {uri}: bucket {bucket_name!r} does not exist (or these credentials cannot "
                                 f"see it); create it first or {CREDENTIALS_HINT}")
        fs.get_file_info(pafs.FileSelector(root, recursive=False, allow_not_found=True))
    except OSError as exc:
        raise RunFolderError(f"--out {uri}: the object store refused ({_first_line(exc)}); "
                             f"{CREDENTIALS_HINT}") from None
    return Bucket(uri=uri, fs=fs, root=root)
