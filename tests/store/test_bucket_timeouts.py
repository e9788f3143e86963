"""An object-store endpoint that accepts connections but never answers is one line within the bounded
timeouts (storage/timeouts.py), not minutes of pyarrow's default waits."""

from __future__ import annotations

import pickle
import socket
import time

import pytest

from dl_drawbacks.errors import RunFolderError
from dl_drawbacks.storage import open_bucket, timeouts


def test_a_silent_s3_endpoint_is_named_within_the_timeouts(monkeypatch):
    monkeypatch.setattr(timeouts, "STALL_S", 1.0)
    monkeypatch.setattr(timeouts, "ATTEMPTS", 1)
    with socket.create_server(("127.0.0.1", 0)) as silent:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        for key, value in (("AWS_ACCESS_KEY_ID", "id"), ("AWS_SECRET_ACCESS_KEY", "secret"),
                           ("AWS_DEFAULT_REGION", "us-east-1")):
            monkeypatch.setenv(key, value)
        t0 = time.monotonic()
        with pytest.raises(RunFolderError) as err:
            open_bucket("s3://runs/quiet")
        assert time.monotonic() - t0 < 8
    assert str(err.value).startswith("--out s3://runs/quiet: the object store refused (")
    assert "Timeout was reached" in str(err.value)


def test_the_bounded_filesystem_keeps_its_options_and_pickles(monkeypatch):
    import pyarrow.fs as pafs

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    fs = timeouts.bounded(pafs.S3FileSystem(endpoint_override="http://127.0.0.1:9", anonymous=True))
    options = fs.__reduce__()[1][0]
    assert options["endpoint_override"] == "http://127.0.0.1:9" and options["anonymous"] is True
    assert options["connect_timeout"] == timeouts.CONNECT_S and options["request_timeout"] == timeouts.STALL_S
    assert pickle.loads(pickle.dumps(fs)).__reduce__()[1][0]["request_timeout"] == timeouts.STALL_S
    local = pafs.LocalFileSystem()
    assert timeouts.bounded(local) is local
