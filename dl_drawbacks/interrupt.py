"""Ctrl-C (SIGINT) and SIGTERM (what Kubernetes sends) during `dl-drawbacks run`.

While trials run, the first signal stops scheduling: every Ray Tune run of this driver is told to end
gracefully through SIGUSR1, Tune's documented stop signal (Tune's own SIGINT handler is switched off
with ``TUNE_DISABLE_SIGINT_HANDLER`` so that this one sees every Ctrl-C; docs.ray.io "Stopping and
Resuming a Tune Run"). Tune then stops the running trials; the driver records every unfinished trial
as ``interrupted``, writes the report and exits 130 (SIGINT) or 143 (SIGTERM). Every signal first marks
the run folder's lock as stopping (storage/stopping.py), so a `--resume` started meanwhile waits for it. A second
signal, or one during the analysis, ends the process at once (``os._exit``: an exception raised from a signal handler
inside Ray's Cython calls comes out as a SystemError traceback) with one line and 128 + the signal.
Outside the trial phase (imports, planning, analysis, report, `analyze`) every signal quits at once the same
way, after killing the local Ray cluster this driver started (ray_processes.py); during ``ray.init``, which
installs its own SIGTERM handler, signals are held and acted on once it returns (``signals_held``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def quit_now(signum: int, frame=None) -> None:
    """One line, then the local Ray cluster this driver started is killed and the process exits 128 + signum;
    finished trials are on disk (every file is written to a temporary name and renamed) and the OS releases
    the run lock."""
    with contextlib.suppress(Exception):
        _mark_locks_stopping()  # a `--resume` started now waits for the lock this process holds while it exits
    name = signal.Signals(signum).name
    print(f"interrupted ({name}): quitting now; a run keeps its finished trials "
          f"(`dl-drawbacks run SPEC --out DIR --resume` finishes it)", file=sys.stderr, flush=True)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    own_cluster = sys.modules.get(f"{__package__}.ray_processes")  # loaded before this process starts a cluster
    if own_cluster is not None:  # nothing is imported here: a signal that lands mid-import (say, of socket) would
        with contextlib.suppress(Exception):  # make that import fail with a traceback and exit 1, not this one line
            own_cluster.kill_own_cluster()
    os._exit(128 + signum)


def _mark_locks_stopping() -> None:
    """Every run-folder lock this process holds says it is stopping (none is held before its module is loaded:
    nothing is imported from a signal handler)."""
    stopping = sys.modules.get(f"{__package__}.storage.stopping")
    if stopping is not None:
        stopping.mark_stopping()


def install_quit_handlers() -> dict:
    """SIGINT and SIGTERM quit at once (``quit_now``); returns the handlers they replace."""
    return {signum: signal.signal(signum, quit_now) for signum in SIGNALS}


@contextlib.contextmanager
def signals_held(set_sigterm_owner, attribute: str) -> Iterator[None]:
    """Hold SIGINT/SIGTERM while a call that installs its own SIGTERM handler runs (``ray.init`` replaces it
    with ``sys.exit``, whose SystemExit Ray swallows while it starts a cluster): ``set_sigterm_owner.attribute``
    is made a no-op meanwhile, a signal is remembered (and the locks this process holds marked stopping at once),
    and once the call is over (or raised) the process quits on it with ``quit_now``."""
    held: list[int] = []

    def hold(signum: int, frame) -> None:
        held.append(signum)
        # at once, not after the call: Ray's job stop SIGKILLs 3 s after its SIGTERM, and a `--resume` started
        # meanwhile must see that this holder is stopping
        _mark_locks_stopping()

    previous = {signum: signal.signal(signum, hold) for signum in SIGNALS}
    original = getattr(set_sigterm_owner, attribute)
    setattr(set_sigterm_owner, attribute, lambda handler: None)
    try:
        yield
    finally:
        setattr(set_sigterm_owner, attribute, original)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if held:
            quit_now(held[0])


class StopRequest:
    """Installed for the trial phase of a run; ``signum`` is set once a stop was asked for."""

    def __init__(self, stream=None) -> None:
        self.signum: int | None = None
        self.stream = stream or sys.stderr
        self._done = threading.Event()

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""

    def __enter__(self) -> "StopRequest":
        os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
        for signum in SIGNALS:
            signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        """Back to ending at once: a signal during the analysis stops it with one line."""
        self._done.set()
        for signum in SIGNALS:
            signal.signal(signum, quit_now)

    def _on_signal(self, signum: int, frame) -> None:
        if self.signum is not None:
            quit_now(signum)
        self.signum = signum
        _mark_locks_stopping()  # the report is still to be written: a `--resume` started meanwhile waits for the lock
        print(f"{self.name}: no new trials start; the running ones stop and are recorded as interrupted, then the "
              f"report is written (send it again to quit at once)", file=self.stream, flush=True)
        threading.Thread(target=_stop_every_tune_run, args=(self._done,), name="stop-tune", daemon=True).start()


def _stop_every_tune_run(done: threading.Event, poll_s: float = 0.2) -> None:
    """Until the trial phase ends, send SIGUSR1 to this process whenever a Tune run installed a new handler
    for it: the one running now and any a study starts later (a study may drive several Tune runs)."""
    told = None
    while not done.is_set():
        handler = signal.getsignal(signal.SIGUSR1)
        if callable(handler) and handler is not told:
            told = handler
            os.kill(os.getpid(), signal.SIGUSR1)
        done.wait(poll_s)
