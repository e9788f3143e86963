"""Raw data files, read from the package's compressed copies or a user's folder, sha256-verified.

``files/SHA256SUMS`` holds the SHA-256 of the decompressed published files; a file that does not
match is refused with a one-line ``DataError`` naming it and saying how to fix it.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from importlib import resources
from pathlib import Path

from ..errors import DataError

PACKAGE_FILES = resources.files(__package__) / "files"

SOURCES = {
    "adult.data": "https://archive.ics.uci.edu/dataset/2/adult",
    "adult.test": "https://archive.ics.uci.edu/dataset/2/adult",
    "adult.names": "https://archive.ics.uci.edu/dataset/2/adult",
    "german.data": "https://archive.ics.uci.edu/dataset/144/statlog+german+credit+data",
}


def expected_sha256() -> dict[str, str]:
    """File name -> SHA-256 of its decompressed bytes, from the package's SHA256SUMS."""
    lines = (PACKAGE_FILES / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_verified(name: str, folder: str | None = None) -> tuple[bytes, str]:
    """The verified bytes of data file ``name`` and where they came from.

    ``folder`` None reads the package copy ``files/<name>.gz``; otherwise ``<folder>/<name>`` or,
    failing that, ``<folder>/<name>.gz``.
    """
    if folder is None:
        source, where = PACKAGE_FILES / f"{name}.gz", f"package copy {name}.gz"
        fix = "reinstall dl_drawbacks"
    else:
        base = Path(folder).expanduser()
        if not base.is_dir():
            raise DataError(f"data folder {base} not found; set path to a folder holding {name} "
                            "or leave path unset to use the copy inside the package")
        source = next((p for p in (base / name, base / f"{name}.gz") if p.is_file()), None)
        if source is None:
            raise DataError(f"{base / name} not found: put the published {name} (or {name}.gz) "
                            f"there ({SOURCES[name]}) or leave path unset to use the package copy")
        where = str(source)
        fix = f"replace it with the published file from {SOURCES[name]} or leave path unset"
    data = source.read_bytes()
    if source.name.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{where} is not a readable gzip file ({exc}); {fix}") from None
    digest, expected = sha256(data), expected_sha256()[name]
    if digest != expected:
        raise DataError(f"{where}: sha256 {digest[:16]}... does not match the published {name} "
                        f"({expected[:16]}...); {fix}")
    return data, where
