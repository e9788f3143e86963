"""A run told to stop marks its lock, and a `--resume` waits a bounded time for it to let go instead of failing
(storage/stopping.py); a holder that is not stopping is still refused at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from dl_drawbacks.errors import RunFolderError
from dl_drawbacks.storage import BucketLock, open_bucket
from dl_drawbacks.storage.run_folder import LocalRunFolder, RunLock

HOLDER = (
    "import sys, time\n"
    "from dl_drawbacks.interrupt import StopRequest\n"
    "from dl_drawbacks.storage.run_folder import LocalRunFolder, RunLock\n"
    "with RunLock(LocalRunFolder(sys.argv[1])), StopRequest() as stop:\n"
    "    print('held', flush=True)\n"
    "    while not stop.signum:\n"
    "        time.sleep(0.02)\n"
    "    time.sleep(0.8)  # what a stopped driver does next: record the unfinished trials, write the report\n"
)


def test_a_resume_waits_for_a_driver_stopped_by_sigterm_to_let_go(tmp_path, capsys):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        holder.send_signal(signal.SIGTERM)  # what `dl-drawbacks job stop` (Ray's job supervisor) sends
        deadline = time.monotonic() + 10
        while not (tmp_path / ".lock").read_text().endswith(", stopping"):
            assert time.monotonic() < deadline, (tmp_path / ".lock").read_text()
            time.sleep(0.02)
        refused = r"in use by another dl-drawbacks run \(host .* pid \d+, stopping\); wait "
        with pytest.raises(RunFolderError, match=refused):
            with RunLock(LocalRunFolder(tmp_path)):  # not a --resume: refused at once
                pass
        t0 = time.monotonic()
        with RunLock(LocalRunFolder(tmp_path), stopping_wait_s=30):
            waited = time.monotonic() - t0
            assert (tmp_path / ".lock").read_text() == f"host {os.uname().nodename} pid {os.getpid()}"
        assert holder.wait(timeout=10) == 0
    finally:
        holder.kill()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "waiting up to 30 s for the stopped run (host" in err, err
    assert f"to let go of {tmp_path}" in err and 0.1 < waited < 10


def test_a_running_holder_is_refused_at_once_and_a_stopping_one_after_the_bound(tmp_path):
    with RunLock(LocalRunFolder(tmp_path)) as first:
        t0 = time.monotonic()
        with pytest.raises(RunFolderError, match=r"pid \d+\); wait for it"):
            with RunLock(LocalRunFolder(tmp_path), stopping_wait_s=30):
                pass
        assert time.monotonic() - t0 < 1
        first.mark_stopping()
        t0 = time.monotonic()
        with pytest.raises(RunFolderError, match=r", stopping\), which did not let go in 0.5 s; wait for it"):
            with RunLock(LocalRunFolder(tmp_path), stopping_wait_s=0.5):
                pass
        assert 0.5 <= time.monotonic() - t0 < 3


def test_a_resume_on_a_bucket_waits_for_a_stopping_holder(s3, request, monkeypatch, capsys):
    monkeypatch.setattr("dl_drawbacks.storage.lock.SETTLE_S", 0.0)
    monkeypatch.setattr("dl_drawbacks.storage.lock.HEARTBEAT_S", 60.0)
    bucket = open_bucket(s3.uri(request.node.name))
    first = BucketLock(bucket).__enter__()
    with pytest.raises(RunFolderError, match=r"in use by another dl-drawbacks run .*; wait for it"):
        with BucketLock(bucket, stopping_wait_s=30):  # same host, its pid alive, not stopping: at once
            pass
    first.mark_stopping()
    deadline = time.monotonic() + 10
    while json.loads(bucket.read_bytes(".lock")).get("state") != "stopping":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    threading.Timer(0.5, first.__exit__, args=(None, None, None)).start()
    with BucketLock(bucket, stopping_wait_s=30):
        assert json.loads(bucket.read_bytes(".lock"))["run"] != first.record["run"]
    err = capsys.readouterr().err
    assert err.count("waiting up to 30 s for the stopped run (host") == 1 and f"let go of {bucket.uri}" in err


CONNECTING_HOLDER = (
    "import sys, time, types\n"
    "from dl_drawbacks.interrupt import install_quit_handlers, signals_held\n"
    "from dl_drawbacks.storage.run_folder import LocalRunFolder, RunLock\n"
    "install_quit_handlers()\n"
    "owner = types.SimpleNamespace(set_sigterm_handler=lambda handler: None)\n"
    "with RunLock(LocalRunFolder(sys.argv[1])), signals_held(owner, 'set_sigterm_handler'):\n"
    "    print('held', flush=True)\n"
    "    time.sleep(8)  # ray.init connecting on a loaded machine: Ray's job stop SIGKILLs 3 s after its SIGTERM\n"
)


def test_a_signal_held_while_ray_connects_marks_the_lock_stopping_at_once(tmp_path):
    """The driver takes its run folder's lock before it connects; a SIGTERM during ``ray.init`` is held until the call
    returns, but the lock says stopping at once, so a `--resume` waits instead of being refused."""
    holder = subprocess.Popen([sys.executable, "-c", CONNECTING_HOLDER, str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        holder.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 3
        while not (tmp_path / ".lock").read_text().endswith(", stopping"):
            assert time.monotonic() < deadline, (tmp_path / ".lock").read_text()
            time.sleep(0.02)
        assert holder.poll() is None  # still inside the held call: the mark came first
    finally:
        holder.kill()
        holder.wait(timeout=10)
