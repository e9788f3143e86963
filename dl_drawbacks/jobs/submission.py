"""What `dl-drawbacks job submit` sends to a Ray job server: entrypoint, runtime env, ids, run folder.

Pure functions of the spec and the local environment (no network), so they are tested without a
cluster. The project root (the nearest folder above the spec holding ``pyproject.toml``) is the
job's ``working_dir``; the job runs ``dl-drawbacks run <spec relative to it> --out DIR --address auto``.

An absolute ``--out`` or an object-store URI (``s3://bucket/prefix``) is the run folder as given. A relative
``--out`` (and the default ``<spec name>-<suffix>``) is placed, on the cluster, under
``$DL_DRAWBACKS_RUNS_DIR`` when the cluster sets it (e.g. a persistent volume), else under the job
driver's ``~/runs``: never inside the job's working_dir copy, which Ray deletes when it evicts it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ..errors import DrawbacksError
from ..storage.files import URI

RUNS_DIR_VAR = "DL_DRAWBACKS_RUNS_DIR"
RUNS_BASE = f'"${{{RUNS_DIR_VAR}:-$HOME/runs}}"'  # shell text, expanded on the cluster
RUN_FOLDER_MARK = "dl-drawbacks: run folder "  # the entrypoint's first log line; status/logs parse it
EXCLUDES = ["runs/", ".git/", "wandb/", "__pycache__/", "*.pyc", ".pytest_cache/", ".hypothesis/",
            ".benchmarks/", "*.egg-info/", "build/", "dist/", ".venv/", "venv/", ".ipynb_checkpoints/"]
# W&B settings a job inherits from the submitting shell (names only are ever printed).
PASS_THROUGH_ENV = ("WANDB_MODE", "WANDB_ENTITY", "WANDB_PROJECT", "WANDB_BASE_URL")
# Secrets travel by reference: the cluster's pods read them from a Kubernetes Secret (k8s/wandb-secret.template.yaml).
# A value goes into the job's runtime env (readable by anyone who can reach the job server) only when
# the user names it with --env.
SECRET_ENV = ("WANDB_API_KEY",)


class SubmitError(DrawbacksError, ValueError):
    """A submission cannot be built as asked (spec outside the project, bad runtime env)."""


@dataclass(frozen=True)
class Submission:
    """Everything `JobSubmissionClient.submit_job` gets, plus what to tell the user."""

    submission_id: str
    entrypoint: str
    runtime_env: dict[str, Any]
    metadata: dict[str, str]
    run_folder: str  # as the cluster will see it; may start with ${DL_DRAWBACKS_RUNS_DIR:-$HOME/runs}
    env_names: tuple[str, ...]  # environment variables passed to the job (values never shown)
    withheld: tuple[str, ...] = ()  # secrets set here but not sent (the cluster has them by reference)


def project_root(spec: Path) -> Path:
    """The nearest folder at or above ``spec`` that holds ``pyproject.toml``."""
    for folder in spec.resolve().parents:
        if (folder / "pyproject.toml").is_file():
            return folder
    raise SubmitError(f"{spec}: no pyproject.toml above it; submit a spec that lies inside the dl-drawbacks project "
                      f"(e.g. studies/)")


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "study"


def parse_runtime_env(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        env = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmitError(f"--runtime-env-json is not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(env, dict):
        raise SubmitError("--runtime-env-json must be a JSON object, e.g. '{\"pip\": [\"rich\"]}'")
    if "working_dir" in env:
        raise SubmitError("--runtime-env-json: working_dir is the project root, set by submit; remove it")
    if not isinstance(env.get("env_vars", {}), dict) or not isinstance(env.get("excludes", []), list):
        raise SubmitError("--runtime-env-json: env_vars must be an object and excludes a list")
    return env


def parse_env(items: Iterable[str], environ: dict[str, str]) -> dict[str, str]:
    """``NAME=VALUE`` as given; a bare ``NAME`` copies the local value (so secrets stay off the command line)."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise SubmitError(f"--env {name!r}: not an environment variable name; use NAME=VALUE or NAME")
        if not sep:
            if name not in environ:
                raise SubmitError(f"--env {name}: not set here; set it or give NAME=VALUE")
            value = environ[name]
        out[name] = value
    return out


def build_submission(spec: str | Path, *, out: str | None = None, runtime_env_json: str | None = None,
                     env: Iterable[str] = (), environ: dict[str, str] | None = None,
                     suffix: str | None = None, resume: bool = False) -> Submission:
    """Validate ``spec`` here, then describe the job that runs it on the cluster. ``resume`` finishes the run
    folder ``out`` names (an interrupted or failed job's), keeping its finished trials."""
    from ..plan import load_checked

    environ = dict(os.environ if environ is None else environ)
    spec = Path(spec)
    suite = load_checked(spec)  # a bad spec fails here, before anything is uploaded
    if resume and not out:
        raise SubmitError("--resume needs --out: the run folder on the cluster to finish (printed by the first submit)")
    root = project_root(spec)
    rel = spec.resolve().relative_to(root).as_posix()
    suffix = suffix or secrets.token_hex(3)
    name = f"{_safe(suite.name)}-{suffix}"

    runtime_env = parse_runtime_env(runtime_env_json)
    env_vars = {k: environ[k] for k in PASS_THROUGH_ENV if environ.get(k)}
    env_vars.update({str(k): str(v) for k, v in runtime_env.get("env_vars", {}).items()})
    env_vars.update(parse_env(env, environ))
    runtime_env = {**runtime_env, "working_dir": str(root),
                   "excludes": EXCLUDES + [e for e in runtime_env.get("excludes", []) if e not in EXCLUDES]}
    if env_vars:
        runtime_env["env_vars"] = env_vars

    out = out or name
    as_given = Path(out).is_absolute() or bool(URI.match(out))  # a local path or an object-store URI
    folder = shlex.quote(out) if as_given else f"{RUNS_BASE}/{shlex.quote(out)}"
    # `exec`: the job's process is the driver itself (job_entrypoint.py), so `job stop` always reaches it
    entrypoint = (f'OUT={folder}; echo "{RUN_FOLDER_MARK}$OUT"; '
                  f'exec dl-drawbacks run {shlex.quote(rel)} --out "$OUT" --address auto'
                  + (" --resume" if resume else ""))
    shown = out if as_given else f"${{{RUNS_DIR_VAR}:-~/runs}}/{out}"
    return Submission(
        submission_id=f"dl-drawbacks-{name}", entrypoint=entrypoint, runtime_env=runtime_env,
        metadata={"dl_drawbacks_spec": rel, "dl_drawbacks_suite": suite.name, "dl_drawbacks_out": shown},
        run_folder=shown, env_names=tuple(sorted(env_vars)),
        withheld=tuple(k for k in SECRET_ENV if environ.get(k) and k not in env_vars),
    )


def run_folder_from_logs(logs: str) -> str | None:
    """The run folder the job announced (resolved on the cluster), if its log has started."""
    for line in logs.splitlines():
        if line.startswith(RUN_FOLDER_MARK):
            return line[len(RUN_FOLDER_MARK):].strip()
    return None
