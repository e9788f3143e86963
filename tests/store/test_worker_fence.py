"""A trial on a worker node checks its driver's fencing token before it writes rows or a marker to the bucket
(storage/sync.py ``trial_mirror``, storage/lock.py ``check_fence``): once a newer run holds the lock, nothing of the
trial is written and it is refused in one line."""

from __future__ import annotations

import json
import time

import polars as pl
import pytest

from dl_drawbacks.storage import BucketLock, open_bucket, trial_mirror
from dl_drawbacks.storage.lock import LockLost
from dl_drawbacks.storage.run_folder import LocalRunFolder


def _finish(local, trial_id: str) -> None:
    LocalRunFolder(local).write_trial(trial_id, pl.DataFrame({"metric": ["loss"], "value": [0.5]}),
                                      {"status": "completed"})


def test_a_worker_writes_while_its_driver_holds_the_lock_and_nothing_once_it_lost_it(s3, request, monkeypatch):
    monkeypatch.setattr("dl_drawbacks.storage.lock.SETTLE_S", 0.0)
    monkeypatch.setattr("dl_drawbacks.storage.lock.HEARTBEAT_S", 60.0)  # this test takes the lock over by hand
    uri = s3.uri(request.node.name)
    bucket = open_bucket(uri)
    with BucketLock(bucket) as lock:
        token = lock.token
        assert token == {"run": lock.record["run"], "fence": 1}
        with trial_mirror(uri, "t-before", token) as local:
            _finish(local, "t-before")
        assert json.loads(bucket.read_bytes("trials/t-before/trial.json"))["status"] == "completed"

        newer = {"host": "pod-new", "pid": 7, "started": time.time(), "run": "r-new", "fence": 2,
                 "heartbeat": time.time()}
        bucket.write_bytes(".lock", json.dumps(newer).encode())  # a --resume elsewhere took the lock over
        with pytest.raises(LockLost) as err:
            with trial_mirror(uri, "t-after", token) as local:
                _finish(local, "t-after")
        assert not [rel for rel in bucket.listing() if rel.startswith("trials/t-after")]
        assert str(err.value) == (f"{bucket.uri}: the run that started this trial (fence 1) lost its lock to host "
                                  f"pod-new pid 7, started "
                                  f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(newer['started']))}, run "
                                  f"r-new, fence 2; trial t-after's rows not written")
        assert err.value.exit_code == 1
        bucket.write_bytes(".lock", json.dumps({**lock.record, "heartbeat": time.time()}).encode())  # to release it
