"""AWS credentials out of the driver's environment before Ray starts, so that no log holds them.

Ray Tune copies ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SECURITY_TOKEN`` and
``AWS_SESSION_TOKEN`` from the driver's environment into every trial actor's ``runtime_env``
(``ray/tune/execution/class_cache.py``, Ray 2.60), and Ray's runtime env agent writes runtime envs in full to
``runtime_env_agent.log`` (seen there with a sentinel secret). The driver therefore moves them into an AWS
shared-credentials file readable only by this user (mode 0600, in a 0700 folder under
``$DL_DRAWBACKS_STATE``, default ``~/.cache/dl-drawbacks``) and names it in ``AWS_SHARED_CREDENTIALS_FILE``,
which every AWS SDK's default chain reads (pyarrow's C++ SDK and boto3 alike). A local cluster started
afterwards inherits the file's path, never the secret; the nodes of a remote cluster use their own
environment, as before. The file is removed when the driver exits.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path

SECRET_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
FILE_KEYS = {"AWS_ACCESS_KEY_ID": "aws_access_key_id", "AWS_SECRET_ACCESS_KEY": "aws_secret_access_key",
             "AWS_SESSION_TOKEN": "aws_session_token", "AWS_SECURITY_TOKEN": "aws_security_token"}


def credentials_folder() -> Path:
    root = os.environ.get("DL_DRAWBACKS_STATE") or Path.home() / ".cache" / "dl-drawbacks"
    return Path(root) / "credentials"


def move_aws_credentials_to_file() -> Path | None:
    """Move the AWS secrets of this process's environment into a private credentials file (the profile
    ``$AWS_PROFILE``, else ``default``); returns its path, or None when the environment holds none."""
    found = {name: os.environ[name] for name in SECRET_VARS if os.environ.get(name)}
    if not found:
        return None
    folder = credentials_folder()
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / f"{os.getpid()}.ini"
    profile = os.environ.get("AWS_PROFILE") or "default"
    text = f"[{profile}]\n" + "".join(f"{FILE_KEYS[name]} = {value}\n" for name, value in found.items())
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    atexit.register(path.unlink, missing_ok=True)
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(path)
    for name in found:
        del os.environ[name]
    return path
