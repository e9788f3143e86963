"""The bucket lock fences: a holder whose lock another run took over (it was frozen past the staleness limit)
writes nothing more, and stops with one line and exit 1 (storage/lock.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from dl_drawbacks.storage import BucketLock, StagedRun, open_bucket
from dl_drawbacks.storage.lock import LockLost


def _uri(s3, request) -> str:
    return s3.uri(request.node.name)


def _take_over(bucket, fence: int) -> dict:
    """What a `--resume` on another host writes once this holder's heartbeat went stale."""
    taker = {"host": "pod-new", "pid": 7, "started": time.time(), "run": "r-new", "fence": fence,
             "heartbeat": time.time()}
    bucket.write_bytes(".lock", json.dumps(taker).encode())
    return taker


def test_a_holder_whose_lock_was_taken_writes_nothing_more(s3, request, tmp_path, monkeypatch):
    monkeypatch.setattr("dl_drawbacks.storage.lock.SETTLE_S", 0.0)
    monkeypatch.setattr("dl_drawbacks.storage.lock.HEARTBEAT_S", 60.0)  # this test checks by hand
    bucket = open_bucket(_uri(s3, request))
    with pytest.raises(LockLost) as err:
        with BucketLock(bucket) as lock:
            assert json.loads(bucket.read_bytes(".lock"))["fence"] == 1
            staged = StagedRun(bucket, tmp_path, fence=lock.check)
            (tmp_path / "findings.json").write_text("{}")
            staged.push()
            lock.check()
            taker = _take_over(bucket, fence=2)
            (tmp_path / "report.md").write_text("stale")
            staged.push()
    assert "report.md" not in bucket.listing() and "findings.json" in bucket.listing()
    assert json.loads(bucket.read_bytes(".lock")) == taker  # not released, not overwritten
    assert str(err.value) == (f"{bucket.uri}: this run lost its lock to host pod-new pid 7, started "
                              f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(taker['started']))}, run r-new, "
                              f"fence 2 (it was frozen or cut off for more than 90 s); stopping without writing "
                              f"more; the run that holds it now goes on")
    assert err.value.exit_code == 1


def test_the_next_holder_gets_the_next_fence(s3, request, monkeypatch):
    monkeypatch.setattr("dl_drawbacks.storage.lock.SETTLE_S", 0.0)
    bucket = open_bucket(_uri(s3, request))
    bucket.write_bytes(".lock", json.dumps({"host": "gone", "pid": 1, "run": "r0", "fence": 41,
                                            "heartbeat": 0.0}).encode())
    with BucketLock(bucket):
        assert json.loads(bucket.read_bytes(".lock"))["fence"] == 42


def test_the_heartbeat_of_a_thawed_holder_stops_it_with_one_line_and_exit_1(s3, request):
    uri = _uri(s3, request)
    code = (
        "import sys, time\n"
        "import dl_drawbacks.storage.lock as L\n"
        "L.SETTLE_S, L.HEARTBEAT_S = 0.0, 0.3\n"
        "from dl_drawbacks.storage import BucketLock, open_bucket\n"
        "with BucketLock(open_bucket(sys.argv[1])):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, uri], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, **s3.env})
    try:
        assert holder.stdout.readline().strip() == "held"
        bucket = open_bucket(uri)
        taker = _take_over(bucket, fence=2)
        _, err = holder.communicate(timeout=30)
    finally:
        holder.kill()
    assert holder.returncode == 1
    assert "Traceback" not in err and err.count("\n") == 1
    assert err.startswith(f"error: {bucket.uri}: this run lost its lock to host pod-new pid 7")
    assert json.loads(bucket.read_bytes(".lock")) == taker
