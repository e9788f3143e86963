"""`dl-drawbacks submit/status/logs/stop`: run a study as a Ray job on a cluster's job server.

The job id goes to standard output (alone, unless --follow adds the job's log after it); where
things are and what to do next goes to standard error. --follow exits with the job's outcome:
0 SUCCEEDED, 1 FAILED, 3 STOPPED.
"""

from __future__ import annotations

import argparse
import sys
import time

from . import client as jobs
from .submission import EXCLUDES, build_submission, run_folder_from_logs


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _follow(c, job_id: str, address: str) -> int:
    try:
        status = jobs.follow(c, job_id)
    except KeyboardInterrupt:
        _note(f"stopped following; job {job_id} keeps running "
              f"(stop it with: dl-drawbacks stop {job_id} --address {address})")
        return 130
    folder = run_folder_from_logs(jobs.logs(c, job_id))
    _note(f"job {job_id} {status}" + (f"; run folder on the cluster: {folder}" if folder else ""))
    return jobs.EXIT_CODES.get(status, 1)


def _submit(args: argparse.Namespace) -> int:
    sub = build_submission(args.spec, out=args.out, runtime_env_json=args.runtime_env_json, env=args.env,
                           resume=args.resume)
    c = jobs.connect(args.address, token_file=args.token_file)
    address = c.get_address()
    _note(f"uploading {sub.runtime_env['working_dir']} as the job's working_dir "
          f"(without {', '.join(EXCLUDES[:3])}, caches)")
    if sub.env_names:
        _note(f"environment for the job: {', '.join(sub.env_names)} (values not shown)")
    for name in sub.withheld:
        _note(f"{name} is not sent: the cluster's pods read it from their Kubernetes Secret "
              f"(k8s/wandb-secret.template.yaml); `--env {name}` sends this shell's value in the job's runtime env, "
              f"readable on the job server")
    job_id = jobs.submit(c, sub)
    print(job_id, flush=True)
    _note(f"submitted to {address}; run folder on the cluster: {sub.run_folder}")
    if args.follow:
        return _follow(c, job_id, address)
    _note(f"follow it: dl-drawbacks logs {job_id} --address {address} --follow")
    return 0


def _status(args: argparse.Namespace) -> int:
    c = jobs.connect(args.address, token_file=args.token_file)
    job = jobs.info(c, args.job)
    meta = job.metadata or {}
    folder = run_folder_from_logs(jobs.logs(c, args.job)) or meta.get("dl_drawbacks_out")
    fields = [("job", args.job), ("status", job.status.value), ("message", (job.message or "").strip()),
              ("spec", meta.get("dl_drawbacks_spec")), ("run folder", folder),
              ("started", _clock(job.start_time)), ("ended", _clock(job.end_time)), ("entrypoint", job.entrypoint)]
    for name, value in fields:
        if value:
            print(f"{name:<11}{' '.join(str(value).split())}")
    return 0


def _clock(ms: int | None) -> str | None:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000)) if ms else None


def _logs(args: argparse.Namespace) -> int:
    c = jobs.connect(args.address, token_file=args.token_file)
    if args.follow:
        return _follow(c, args.job, c.get_address())
    sys.stdout.write(jobs.logs(c, args.job))
    return 0


def _stop(args: argparse.Namespace) -> int:
    c = jobs.connect(args.address, token_file=args.token_file)
    if not jobs.stop(c, args.job):
        _note(f"job {args.job} had already ended: {jobs.info(c, args.job).status.value}")
        return 0
    if args.wait:
        _note(f"job {args.job} {jobs.wait(c, args.job, timeout_s=args.wait_timeout)}")
    else:
        _note(f"stop requested for job {args.job}")
    return 0


def _connection_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--address", default=None,
                   help="job server, http://HOST:8265 (the Ray dashboard port; default $RAY_API_SERVER_ADDRESS)")
    p.add_argument("--token-file", default=None,
                   help="file holding the cluster's auth token "
                        "(default: $RAY_AUTH_TOKEN, else ~/.ray/auth_token if it exists)")


def register(subparsers) -> None:
    """Add `submit`, `status`, `logs` and `stop` to the main CLI's subparsers."""
    p = subparsers.add_parser("submit", help="run a study spec as a Ray job on a cluster's job server")
    p.add_argument("spec", metavar="SPEC", help="study spec inside this project, e.g. studies/compute.yaml")
    _connection_args(p)
    p.add_argument("--out", default=None, metavar="DIR",
                   help="run folder on the cluster; relative paths and the default <spec name>-<id> go under "
                        "$DL_DRAWBACKS_RUNS_DIR on the cluster, else the job's ~/runs")
    p.add_argument("--resume", action="store_true",
                   help="finish the run folder --out names (an interrupted or failed job's), "
                        "keeping its finished trials")
    p.add_argument("--follow", action="store_true", help="print the job's log until it ends; exit 0 if it succeeded")
    p.add_argument("--runtime-env-json", default=None, metavar="JSON",
                   help="extra Ray runtime env, "
                        "e.g. '{\"pip\": [\"rich\"], \"env_vars\": {\"OMP_NUM_THREADS\": \"1\"}}'")
    p.add_argument("--env", action="append", default=[], metavar="NAME[=VALUE]",
                   help="environment variable for the job (repeatable); a bare NAME copies its value from here. "
                        "WANDB_MODE/ENTITY/PROJECT/BASE_URL are passed on when set; WANDB_API_KEY only when named here "
                        "(the cluster's pods read it from a Kubernetes Secret)")
    p.set_defaults(func=_submit)

    p = subparsers.add_parser("status", help="status, message and run folder of a submitted job")
    p.add_argument("job", metavar="JOB", help="job id printed by submit")
    _connection_args(p)
    p.set_defaults(func=_status)

    p = subparsers.add_parser("logs", help="print a submitted job's log")
    p.add_argument("job", metavar="JOB", help="job id printed by submit")
    _connection_args(p)
    p.add_argument("--follow", action="store_true", help="keep printing until the job ends; exit 0 if it succeeded")
    p.set_defaults(func=_logs)

    p = subparsers.add_parser("stop", help="stop a submitted job")
    p.add_argument("job", metavar="JOB", help="job id printed by submit")
    _connection_args(p)
    p.add_argument("--wait", action="store_true", help="return once the job has stopped")
    p.add_argument("--wait-timeout", type=float, default=60.0, help="seconds --wait waits at most (default 60)")
    p.set_defaults(func=_stop)
