"""A real S3 endpoint on 127.0.0.1 for tests: moto's threaded server at a free port, with a bucket."""

from __future__ import annotations

import contextlib
import logging
import secrets
from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class S3Endpoint:
    env: dict[str, str]  # what a client (this process or a subprocess) needs in its environment
    bucket: str

    def uri(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}"


@contextlib.contextmanager
def s3_server() -> Iterator[S3Endpoint]:
    import pyarrow.fs as pafs
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
        bucket = f"runs-{secrets.token_hex(4)}"
        pafs.S3FileSystem(endpoint_override=env["AWS_ENDPOINT_URL"], access_key="testing", secret_key="testing",
                          region="us-east-1", allow_bucket_creation=True).create_dir(bucket)
        yield S3Endpoint(env=env, bucket=bucket)
    finally:
        server.stop()
