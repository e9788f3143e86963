"""Files written atomically (a temporary name renamed into place, so a reader never sees half a file) with the
mode a plain open() gives, strict JSON, and ``--out`` as a local folder. The run folder's layout and its
trials live in ``run_folder.py``."""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from ..errors import RunFolderError


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
