"""Every object-store request bounded: pyarrow's S3 filesystem waits on an endpoint that never answers for
minutes by default (no connect or request timeout, AWS's retries; 122 s measured before a one-line error).
``bounded`` rebuilds an S3 filesystem with the same options plus ``CONNECT_S``/``STALL_S`` (curl's low-speed
limit: no byte for that long ends the request, so large uploads are not cut) and ``ATTEMPTS`` tries, so a
hung endpoint is named within about 25 s. Other filesystems come back as they are.
"""

from __future__ import annotations

from typing import Any

CONNECT_S = 5.0
STALL_S = 10.0
ATTEMPTS = 2


def bounded(fs: Any) -> Any:
    import pyarrow.fs as pafs

    if not isinstance(fs, pafs.S3FileSystem):
        return fs
    options = dict(fs.__reduce__()[1][0])  # the keyword arguments it was built with
    options.update(connect_timeout=CONNECT_S, request_timeout=STALL_S,
                   retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=ATTEMPTS))
    return pafs.S3FileSystem(**options)
