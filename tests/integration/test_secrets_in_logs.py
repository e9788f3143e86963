"""No secret the project reads reaches a log: a run on a bucket (moto's S3 server) with sentinel values for
the AWS keys, the W&B key and a session token, then every file of Ray's temporary folder for that run, the run
folder (the bucket and the driver's staging copy) and W&B's files is searched for each sentinel. Before the
fix Ray's runtime_env_agent.log held AWS_SECRET_ACCESS_KEY (Ray Tune copies it into every trial's
runtime_env). The fast equivalent is tests/test_credentials.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.ray]
SPEC = Path(__file__).resolve().parents[1] / "specs" / "tiny_kill.yaml"
SENTINELS = {"AWS_ACCESS_KEY_ID": "SENTINELaccessid7Q", "AWS_SECRET_ACCESS_KEY": "SENTINELsecret9f8e7d6c",
             "AWS_SESSION_TOKEN": "SENTINELsession3k2j", "WANDB_API_KEY": "SENTINEL" + "w" * 32}


def _files_holding(root: Path, needle: bytes) -> list[str]:
    found = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                found.append(str(path))
        except OSError:
            pass
    return found


def test_no_sentinel_secret_reaches_rays_logs_the_run_folder_or_wandb(s3, tmp_path):
    ray_tmp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # Ray's socket paths must stay under 107 bytes
    staging, state = tmp_path / "staging", tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update({**s3.env, **SENTINELS}, RAY_TMPDIR=str(ray_tmp), RAY_AUTH_MODE="disabled", WANDB_MODE="offline",
               DL_DRAWBACKS_STAGING=str(staging), DL_DRAWBACKS_STATE=str(state), WANDB_DIR=str(tmp_path / "wandb"))
    uri = s3.uri("secrets/run")
    try:
        done = subprocess.run([sys.executable, "-m", "dl_drawbacks.cli", "run", str(SPEC), "--out", uri,
                               "--address", "local"], env=env, capture_output=True, text=True, timeout=900,
                              start_new_session=True)
        _check(done, uri, ray_tmp, staging, state, tmp_path)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)


def _check(done, uri: str, ray_tmp: Path, staging: Path, state: Path, tmp_path: Path) -> None:
    from dl_drawbacks.storage import open_bucket

    assert done.returncode == 0, done.stderr[-2000:]
    bucket_copy = tmp_path / "bucket"
    bucket = open_bucket(uri)
    for rel in bucket.listing(""):
        (bucket_copy / rel).parent.mkdir(parents=True, exist_ok=True)
        (bucket_copy / rel).write_bytes(bucket.read_bytes(rel))
    assert (bucket_copy / "findings.json").exists() and list(ray_tmp.rglob("runtime_env_agent.log"))
    for name, value in SENTINELS.items():
        leaks = [f for root in (ray_tmp, staging, bucket_copy, tmp_path / "wandb", state)
                 for f in _files_holding(root, value.encode())]
        assert not leaks, f"{name} found in {leaks}"
    assert done.stdout.count(SENTINELS["AWS_SECRET_ACCESS_KEY"]) == done.stderr.count(
        SENTINELS["AWS_SECRET_ACCESS_KEY"]) == 0
