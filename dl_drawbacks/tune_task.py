"""The Ray Tune entry points: a grid task (``tune_trial``) and a trial that reports step by step to its scheduler
(``stepwise``, ``step_reports``), such as a hparams search trial under ASHA. Each runs on one of the run's warm hosts
(``trial_hosts``) when the run has a pool and the task's trials can run there, else here in the Tune trial's
process; either way its reports go to ``ray.tune.report`` (the only Tune API used).

This module is what every fresh Tune trial process imports: it stays light (no torch), so a task that runs on a
host costs its Tune trial only Ray's own start."""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Iterator

from .launch import Launch
from .step_reports import entry_function


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
        # trial_pid (in the report): the process that trained it; tune_pid: this Tune trial's (equal when not hosted)
        tune.report({**report, "entered": entered, "tune_pid": os.getpid()})


def stepwise(entry: str) -> Callable[[dict[str, Any]], None]:
    """The Tune entry point of a trial that reports step by step to its scheduler: ``entry`` (``module:function``)
    runs the trial from its Tune config, reporting its steps through ``step_reports.report_step``, and returns its
    final report.
    On a warm host the steps come back one by one and the host goes on only once Tune took each (``trial_hosts``);
    here, in the Tune trial's process, ``entry`` runs directly. The module of ``entry`` is imported only where the
    trial runs."""

    def stepwise_trial(config: dict[str, Any]) -> None:
        launch = Launch.of_task(config)
        if launch.hosts is not None:
            from .trial_hosts import hostable, hosted_stepwise

            if hostable(launch):
                return hosted_stepwise(launch, config, entry)
        from ray import tune

        tune.report(entry_function(entry)(config))

    return stepwise_trial
