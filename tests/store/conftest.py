from __future__ import annotations

import pytest
from s3_server import s3_server


@pytest.fixture(scope="module")
def s3_endpoint():
    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3(s3_endpoint, monkeypatch):
    """The endpoint, with its address and credentials in this process's environment."""
    for key, value in s3_endpoint.env.items():
        monkeypatch.setenv(key, value)
    return s3_endpoint
