"""A Ray job's entrypoint runs the driver as the job's own process (``exec``), so that `job stop` reaches it.

Ray's job supervisor (ray/dashboard/modules/job/job_supervisor.py, ``JobSupervisor.run``) starts the entrypoint
with ``subprocess.Popen(entrypoint, shell=True)`` and, on stop, signals the shell and the descendants psutil lists
*at that moment* (``[job_process] + job_process.children(recursive=True)``): SIGTERM, then SIGKILL 3 s later, then
STOPPED. /bin/sh (dash) forks for every command, the last one too, so a stop that lands between the shell's start
and its fork of ``dl-drawbacks`` - a job stopped while PENDING is stopped the instant its shell starts - signals
only the shell, which dies, while the driver it forks a moment later runs on, unsignalled, as an orphan: the job
says STOPPED, the study keeps running and holds its run folder, and a `--resume` is refused as "in use" (seen on CI,
stop 36). With ``exec`` the shell's process *becomes* the driver: a signal before the exec ends the shell before
any driver exists, one after it reaches the driver. Used by `dl-drawbacks job submit` and the KubeRay RayJob (its
submitter goes through the same supervisor).
"""

from __future__ import annotations

import shlex


def as_job_process(command: list[str]) -> str:
    """The entrypoint that replaces the job's shell with ``command`` (argv, quoted for /bin/sh)."""
    return "exec " + shlex.join(command)
