"""The step reports of a trial its scheduler may stop at any step (a hparams search trial under ASHA): each step's
result with its checkpoint files, reported to Tune where the trial runs in its Tune trial's process, or handed to the
Tune trial through the warm host's channel (``trial_hosts``), which answers whether to go on.

Light (no torch): the Tune entry point (``tune_task``) and the hosts import it."""

from __future__ import annotations

import threading
from typing import Any, Callable


class StopTrial(BaseException):
    """The trial's scheduler stopped it at its last step report (``report_step`` raises it on a warm host; in a Tune
    trial's process Tune ends the thread itself). Not an ``Exception``: the trial records no outcome of its own."""


STEPS = threading.local()  # ``send``: on a warm host, where this thread's step reports go (``trial_hosts``)


def report_step(result: dict[str, Any], files: dict[str, bytes]) -> None:
    """A step report of a trial its scheduler may stop (a search trial under ASHA), with its checkpoint (``files``:
    name -> bytes). On a warm host it goes to the Tune trial, which reports it and says whether to go on
    (``StopTrial`` if not); in a Tune trial's process it is reported here, and Tune ends the thread if it stops."""
    send = getattr(STEPS, "send", None)
    if send is not None:
        if not send(result, files):
            raise StopTrial
        return
    report_with_checkpoint(result, files)


def report_with_checkpoint(result: dict[str, Any], files: dict[str, bytes]) -> None:
    """``ray.tune.report`` of ``result`` with a checkpoint of ``files`` (Tune persists it before it returns)."""
    import tempfile
    from pathlib import Path

    from ray import tune

    with tempfile.TemporaryDirectory(prefix="dl-drawbacks-step-") as folder:
        for name, data in files.items():
            (Path(folder) / name).write_bytes(data)
        tune.report(result, checkpoint=tune.Checkpoint.from_directory(folder))


def entry_function(entry: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``module:function``, imported."""
    import importlib

    module, _, name = entry.partition(":")
    return getattr(importlib.import_module(module), name)
