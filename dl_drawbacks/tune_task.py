"""The Ray Tune entry point of a grid task: its trials run on one of the run's warm hosts (``trial_hosts``) when the
run has a pool and the task's trials can run there, else here in the Tune trial's process; either way each trial's
report goes to ``ray.tune.report`` (the only Tune API used) as the trial ends.

This module is what every fresh Tune trial process imports: it stays light (no torch), so a task that runs on a
host costs its Tune trial only Ray's own start."""

from __future__ import annotations

import os
import time
from typing import Any, Iterator

from .launch import Launch


def reports(launch: Launch) -> Iterator[dict[str, Any]]:
    """Each trial's report, from a warm host or from this process."""
    if launch.hosts is not None:
        from .trial_hosts import hostable, hosted_reports

        if hostable(launch):
            return hosted_reports(launch)
    from .trial import task_reports

    return task_reports(launch)


def tune_trial(config: dict[str, Any]) -> None:
    """Entry point Ray Tune calls: the task's launch, parsed once, and its trials' reports in order."""
    from ray import tune

    entered = time.time()
    for report in reports(Launch.of_task(config)):
        tune.report({**report, "entered": entered, "tune_pid": os.getpid()})  # trial_pid: where it ran
