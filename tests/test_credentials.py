"""AWS secrets leave the driver's environment for a private credentials file before Ray starts: Ray Tune
copies them into every trial's runtime_env, which Ray's runtime env agent logs (credentials.py). The run on a
bucket that greps Ray's logs, the run folder and W&B's files for sentinels is in
tests/integration/test_secrets_in_logs.py (slow)."""

from __future__ import annotations

import os
import stat

from dl_drawbacks.credentials import move_aws_credentials_to_file


def test_the_secrets_move_to_a_file_only_the_user_reads_and_tune_no_longer_sees_them(tmp_path, monkeypatch):
    from ray.tune.execution.class_cache import ENV_VARS_TO_PROPAGATE

    monkeypatch.setenv("DL_DRAWBACKS_STATE", str(tmp_path))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "SENTINEL-ID")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SENTINEL-SECRET")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "SENTINEL-TOKEN")
    monkeypatch.setenv("AWS_PROFILE", "team")
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE", raising=False)
    path = move_aws_credentials_to_file()
    assert os.environ["AWS_SHARED_CREDENTIALS_FILE"] == str(path)
    assert not [name for name in ENV_VARS_TO_PROPAGATE if name in os.environ and "SENTINEL" in os.environ[name]]
    assert path.read_text() == ("[team]\naws_access_key_id = SENTINEL-ID\naws_secret_access_key = SENTINEL-SECRET\n"
                                "aws_session_token = SENTINEL-TOKEN\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_boto3_reads_the_moved_credentials(tmp_path, monkeypatch):
    import boto3

    monkeypatch.setenv("DL_DRAWBACKS_STATE", str(tmp_path))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "SENTINEL-ID")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SENTINEL-SECRET")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    move_aws_credentials_to_file()
    credentials = boto3.session.Session().get_credentials()
    assert (credentials.access_key, credentials.secret_key, credentials.method) == (
        "SENTINEL-ID", "SENTINEL-SECRET", "shared-credentials-file")


def test_nothing_moves_without_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("DL_DRAWBACKS_STATE", str(tmp_path))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert move_aws_credentials_to_file() is None and not (tmp_path / "credentials").exists()
