"""Package copies of the UCI files and their verification (data/checksums.py)."""

import gzip
import hashlib

import pytest

from dl_drawbacks.data.checksums import PACKAGE_FILES, expected_sha256, read_verified
from dl_drawbacks.errors import DataError


def test_every_package_copy_matches_sha256sums():
    sums = expected_sha256()
    assert set(sums) == {"adult.data", "adult.test", "adult.names", "german.data"}
    for name, digest in sums.items():
        data = gzip.decompress((PACKAGE_FILES / f"{name}.gz").read_bytes())
        assert hashlib.sha256(data).hexdigest() == digest


def test_folder_with_raw_or_gzipped_file_is_read(tmp_path):
    packed = (PACKAGE_FILES / "german.data.gz").read_bytes()
    (tmp_path / "german.data.gz").write_bytes(packed)
    data, where = read_verified("german.data", str(tmp_path))
    assert where.endswith("german.data.gz") and data == gzip.decompress(packed)
    (tmp_path / "german.data").write_bytes(data)
    assert read_verified("german.data", str(tmp_path))[1].endswith("german.data")


def test_damaged_gzip_is_a_data_error_naming_the_file(tmp_path):
    (tmp_path / "german.data.gz").write_bytes(b"\x1f\x8b not gzip")
    with pytest.raises(DataError, match="german.data.gz is not a readable gzip file"):
        read_verified("german.data", str(tmp_path))


def test_missing_folder_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="data folder .*nowhere not found"):
        read_verified("adult.data", str(tmp_path / "nowhere"))
