"""`dl-drawbacks job submit|list|status|logs|stop`: run a study as a Ray job on a cluster's job server.

The top-level `submit`, `status`, `logs` and `stop` (the commands' names before the `job` group) stay as
aliases: each parses the same arguments and calls the same function as its `job` subcommand. (The
top-level `list` is not one of them: it lists study kinds, datasets and models.)

As `ray job submit` does, `submit` follows the job's log until it ends unless --no-wait detaches; the
job server is --address, else $RAY_API_SERVER_ADDRESS, else $RAY_ADDRESS (`ray job`'s order).
The job id goes to standard output first (alone with --no-wait), then the followed log; where things
are and what to do next goes to standard error. Following exits with the job's outcome:
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
              f"(stop it with: dl-drawbacks job stop {job_id} --address {address})")
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
    if not args.no_wait:
        return _follow(c, job_id, address)
    _note(f"follow it: dl-drawbacks job logs {job_id} --address {address} --follow")
    return 0


def _list(args: argparse.Namespace) -> int:
    c = jobs.connect(args.address, token_file=args.token_file)
    found = jobs.submissions(c)
    if not found:
        _note(f"no jobs on the Ray job server at {c.get_address()}")
        return 0
    print(f"{'JOB':<40} {'STATUS':<10} {'STARTED':<19} {'SPEC':<30} RUN FOLDER")
    for job in found:
        meta = job.metadata or {}
        print(f"{job.submission_id:<40} {job.status.value:<10} {_clock(job.start_time) or '-':<19} "
              f"{meta.get('dl_drawbacks_spec') or '-':<30} {meta.get('dl_drawbacks_out') or '-'}")
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
                   help="job server, http://HOST:8265 (the Ray dashboard port; default $RAY_API_SERVER_ADDRESS, "
                        "else $RAY_ADDRESS, as `ray job` reads them)")
    p.add_argument("--token-file", default=None,
                   help="file holding the cluster's auth token "
                        "(default: $RAY_AUTH_TOKEN, else ~/.ray/auth_token if it exists)")


def _submit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="SPEC", help="study spec inside this project, e.g. studies/compute.yaml")
    _connection_args(p)
    p.add_argument("--out", default=None, metavar="DIR",
                   help="run folder on the cluster: a URI (s3://bucket/prefix) as given; relative paths and the "
                        "default <spec name>-<id> go under $DL_DRAWBACKS_RUNS_DIR on the cluster, else the job's "
                        "~/runs")
    p.add_argument("--resume", action="store_true",
                   help="finish the run folder --out names (an interrupted or failed job's), "
                        "keeping its finished trials")
    wait = p.add_mutually_exclusive_group()
    wait.add_argument("--no-wait", action="store_true",
                      help="return once the job is submitted instead of following its log (as `ray job submit`)")
    wait.add_argument("--follow", action="store_true",
                      help="follow the job's log until it ends (the default); exit 0 if it succeeded")
    p.add_argument("--runtime-env-json", default=None, metavar="JSON",
                   help="extra Ray runtime env, "
                        "e.g. '{\"pip\": [\"rich\"], \"env_vars\": {\"OMP_NUM_THREADS\": \"1\"}}'")
    p.add_argument("--env", action="append", default=[], metavar="NAME[=VALUE]",
                   help="environment variable for the job (repeatable); a bare NAME copies its value from here. "
                        "WANDB_MODE/ENTITY/PROJECT/BASE_URL are passed on when set; WANDB_API_KEY only when named here "
                        "(the cluster's pods read it from a Kubernetes Secret)")


def _job_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("job", metavar="JOB", help="job id printed by submit (`job list` shows them)")
    _connection_args(p)


def _logs_args(p: argparse.ArgumentParser) -> None:
    _job_args(p)
    p.add_argument("--follow", action="store_true", help="keep printing until the job ends; exit 0 if it succeeded")


def _stop_args(p: argparse.ArgumentParser) -> None:
    _job_args(p)
    p.add_argument("--wait", action="store_true", help="return once the job has stopped")
    p.add_argument("--wait-timeout", type=float, default=60.0, help="seconds --wait waits at most (default 60)")


# name: (help, arguments, function, kept as a top-level alias)
COMMANDS = {
    "submit": ("run a study spec as a Ray job on a cluster's job server", _submit_args, _submit, True),
    "list": ("the jobs submitted to a cluster's job server: id, status, start, spec, run folder",
             _connection_args, _list, False),
    "status": ("status, message and run folder of a submitted job", _job_args, _status, True),
    "logs": ("print a submitted job's log", _logs_args, _logs, True),
    "stop": ("stop a submitted job", _stop_args, _stop, True),
}


def register(subparsers) -> None:
    """Add the `job` group and the top-level aliases `submit`, `status`, `logs`, `stop` to the main CLI."""
    group = subparsers.add_parser("job", help="Ray jobs on a cluster's job server: submit, list, status, logs, stop")
    commands = group.add_subparsers(dest="job_command", metavar="{" + ",".join(COMMANDS) + "}", required=True)
    for name, (text, add_arguments, func, aliased) in COMMANDS.items():
        parsers = [commands.add_parser(name, help=text, description=text)]
        if aliased:
            parsers.append(subparsers.add_parser(name, help=f"alias of `job {name}`",
                                                 description=f"Alias of `job {name}`: {text}."))
        for parser in parsers:
            add_arguments(parser)
            parser.set_defaults(func=func)
