"""Run folders on a real S3 endpoint (moto's server on 127.0.0.1): trial objects, markers, pulls, pushes,
the lock and the one-line refusals of a bad --out."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import polars as pl
import pytest

from dl_drawbacks.errors import RunFolderError
from dl_drawbacks.rows import RowBuffer
from dl_drawbacks.storage import BucketLock, StagedRun, open_bucket, trial_mirror
from dl_drawbacks.storage.sync import pull, push_trial
from dl_drawbacks.storage.run_folder import BucketRunFolder, LocalRunFolder

SPEC = Path(__file__).resolve().parents[1] / "specs" / "tiny_compute.yaml"


def _rows(n=3):
    buf = RowBuffer("compute", "run", "t1", 0, {"model.size": "s"})
    for i in range(n):
        buf.add("loss", 1.0 / (i + 1), "nats", split="train", step=i)
    return buf.frame()


def _uri(s3, request) -> str:
    return s3.uri(request.node.name.replace("[", "-").replace("]", ""))


def test_trial_written_through_a_mirror_is_finished_and_reads_back_byte_identical(s3, request, tmp_path):
    uri = _uri(s3, request)
    bucket = open_bucket(uri)
    calls = []
    with trial_mirror(uri, "t1") as local:
        LocalRunFolder(local).write_trial("t1", _rows(), {"status": "completed"})
        (local / "wandb" / "logged").mkdir(parents=True)
        (local / "wandb" / "logged" / "t1.json").write_text("{}")
        written = ((Path(local) / "trials" / "t1") / "rows.parquet").read_bytes()
        original = bucket.upload
        object.__setattr__(bucket, "upload", lambda rel, path: calls.append(rel) or original(rel, path))
        push_trial(bucket, local, "t1", replace=True)
    assert calls == ["trials/t1/rows.parquet", "trials/t1/trial.json"]  # rows first, marker last
    assert BucketRunFolder(bucket).is_finished("t1")
    assert bucket.read_bytes("wandb/logged/t1.json") == b"{}"  # the trial's other files go too
    assert not local.exists()  # the mirror is removed
    pull(bucket, tmp_path)
    assert LocalRunFolder(tmp_path).is_finished("t1")
    assert ((Path(tmp_path) / "trials" / "t1") / "rows.parquet").read_bytes() == written


def test_rows_without_a_marker_are_unfinished_and_never_pulled(s3, request, tmp_path):
    bucket = open_bucket(_uri(s3, request))
    LocalRunFolder(tmp_path / "src").write_trial("t1", _rows(), {"status": "completed"})
    bucket.upload("trials/t1/rows.parquet", (Path(tmp_path / "src") / "trials" / "t1") / "rows.parquet")
    bucket.write_bytes("trials/t2/rows.parquet", b"PAR1 half an object")
    assert not BucketRunFolder(bucket).is_finished("t1") and not BucketRunFolder(bucket).is_finished("t2")
    pull(bucket, tmp_path / "copy")
    assert not (tmp_path / "copy" / "trials").exists()


def test_push_keeps_the_buckets_trials_and_uploads_what_the_driver_rewrote(s3, request, tmp_path):
    bucket = open_bucket(_uri(s3, request))
    stage = StagedRun(bucket, tmp_path / "stage")
    stage.pull()
    LocalRunFolder(tmp_path / "worker").write_trial("t1", _rows(), {"status": "completed"})
    push_trial(bucket, tmp_path / "worker", "t1", replace=True)  # finished in the bucket after the driver's pull
    before = bucket.read_bytes("trials/t1/rows.parquet")
    LocalRunFolder(stage.local).write_trial("t1", _rows(0), {"status": "interrupted"})  # the driver's late record of it
    LocalRunFolder(stage.local).write_trial("t2", _rows(0), {"status": "failed", "error": "trial process died"})
    (stage.local / "findings.json").write_text('{"a": 1}')
    stage.push()
    assert bucket.read_bytes("trials/t1/rows.parquet") == before  # the bucket is the truth for a trial
    assert json.loads(bucket.read_bytes("trials/t2/trial.json"))["status"] == "failed"
    time.sleep(0.01)
    (stage.local / "findings.json").write_text('{"a": 2}')  # same size, rewritten
    stage.push()
    assert bucket.read_bytes("findings.json") == b'{"a": 2}'


def test_the_lock_refuses_a_live_holder_and_takes_over_a_gone_one(s3, request, monkeypatch):
    monkeypatch.setattr("dl_drawbacks.storage.lock.SETTLE_S", 0.0)
    bucket = open_bucket(_uri(s3, request))
    with BucketLock(bucket):
        holder = json.loads(bucket.read_bytes(".lock"))
        assert holder["host"] == socket.gethostname() and holder["pid"] == os.getpid()
        with pytest.raises(RunFolderError, match=f"in use by another dl-drawbacks run \\(host {holder['host']} pid"):
            with BucketLock(bucket):
                pass
    assert bucket.read_bytes(".lock") is None  # released
    other_host = {"host": "pod-a", "pid": 1, "started": time.time(), "run": "r1", "heartbeat": time.time()}
    bucket.write_bytes(".lock", json.dumps(other_host).encode())
    with pytest.raises(RunFolderError, match="host pod-a pid 1"):
        with BucketLock(bucket):
            pass
    bucket.write_bytes(".lock", json.dumps({**other_host, "heartbeat": time.time() - 3600}).encode())
    with BucketLock(bucket):  # a stale heartbeat from another host: taken over
        assert json.loads(bucket.read_bytes(".lock"))["pid"] == os.getpid()
    dead = {**other_host, "host": socket.gethostname(), "pid": 2**22 + 12345}
    bucket.write_bytes(".lock", json.dumps(dead).encode())
    with BucketLock(bucket):  # same host, pid gone: taken over at once
        pass


def test_the_lock_of_a_racing_driver_that_lost_refuses(s3, request, monkeypatch):
    bucket = open_bucket(_uri(s3, request))
    lock = BucketLock(bucket)
    winner = {"host": "pod-b", "pid": 7, "started": time.time(), "run": "other", "heartbeat": time.time()}
    monkeypatch.setattr(BucketLock, "_settle", lambda self: bucket.write_bytes(".lock", json.dumps(winner).encode()))
    with pytest.raises(RunFolderError, match="host pod-b pid 7"):
        lock.__enter__()


@pytest.mark.parametrize("out, message", [
    ("foo://x/y", "Unrecognized filesystem type"),
    ("s3://no-such-bucket-here/run", "bucket 'no-such-bucket-here' does not exist"),
])
def test_a_bad_out_is_one_line_exit_2_and_writes_nothing(s3, out, message, tmp_path, monkeypatch, capsys):
    from dl_drawbacks.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DL_DRAWBACKS_STAGING", str(tmp_path / "staging"))
    assert main(["run", str(SPEC), "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and out.rstrip("/") in err
    assert list(tmp_path.iterdir()) == []  # no staging folder, no local "s3:" folder


def test_an_unreachable_endpoint_names_the_variables_to_check(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    with pytest.raises(RunFolderError, match="object store refused .*check AWS_ENDPOINT_URL"):
        open_bucket("s3://bucket/run")


def test_a_run_on_a_prefix_holding_something_else_is_refused(s3, request, tmp_path, monkeypatch, capsys):
    from dl_drawbacks.cli import main

    uri = _uri(s3, request)
    open_bucket(uri).write_bytes("notes.txt", b"mine")
    monkeypatch.setenv("DL_DRAWBACKS_STAGING", str(tmp_path / "staging"))
    assert main(["run", str(SPEC), "--out", uri]) == 2
    assert "holds files that are not a dl-drawbacks run (no spec.yaml: notes.txt)" in capsys.readouterr().err
    assert open_bucket(uri).read_bytes("notes.txt") == b"mine"
    assert pl.Series(sorted(open_bucket(uri).listing())).to_list() == ["notes.txt"]


def test_resume_waits_for_another_hosts_heartbeat_to_go_stale(s3, request, monkeypatch):
    monkeypatch.setattr("dl_drawbacks.storage.lock.SETTLE_S", 0.0)
    monkeypatch.setattr("dl_drawbacks.storage.lock.STALE_S", 1.0)
    monkeypatch.setattr("dl_drawbacks.storage.lock.HEARTBEAT_S", 0.2)
    bucket = open_bucket(_uri(s3, request))
    gone_pod = {"host": "pod-old", "pid": 1, "started": time.time(), "run": "r0", "heartbeat": time.time()}
    bucket.write_bytes(".lock", json.dumps(gone_pod).encode())
    with pytest.raises(RunFolderError, match="host pod-old"):
        with BucketLock(bucket):  # no wait: refused while the heartbeat is fresh
            pass
    t0 = time.monotonic()
    with BucketLock(bucket, wait_s=3.0):
        assert json.loads(bucket.read_bytes(".lock"))["host"] == socket.gethostname()
    assert 0.5 < time.monotonic() - t0 < 3.0


def test_a_finished_trials_checkpoints_are_removed_and_only_its_own(s3, request, tmp_path):
    from dl_drawbacks.storage import checkpoint_root, remove_checkpoints

    uri = _uri(s3, request)
    bucket = open_bucket(uri)
    for trial_id in ("t1", "t2"):
        bucket.write_bytes(f"ray_train/{trial_id}/checkpoint_2026/rank0.pkl", b"state")
    remove_checkpoints(uri, "t1")
    assert sorted(bucket.listing("ray_train")) == ["ray_train/t2/checkpoint_2026/rank0.pkl"]
    assert checkpoint_root(uri) == f"{uri}/ray_train"
    local = tmp_path / "ray_train" / "t1" / "checkpoint_1"
    local.mkdir(parents=True)
    remove_checkpoints(str(tmp_path), "t1")
    assert not (tmp_path / "ray_train" / "t1").exists() and (tmp_path / "ray_train").exists()


def test_execute_trial_keeps_a_failed_trials_checkpoints_and_removes_a_finished_ones(tmp_path, monkeypatch):
    from dl_drawbacks import trial
    from dl_drawbacks.launch import Launch
    from dl_drawbacks.plan import plan
    from dl_drawbacks.spec.load import load_spec

    removed = []
    monkeypatch.setattr(trial, "remove_checkpoints", lambda address, trial_id: removed.append(trial_id))
    planned = plan(load_spec("tests/specs/tiny_compute.yaml"))[:2]
    for status, t in zip(("failed", "completed"), planned):
        monkeypatch.setattr(trial, "_execute_here", lambda *args, status=status: {"status": status})
        trial.execute_trial(Launch(trials=[t], address=str(tmp_path), run_id="r"), t)
    assert removed == [planned[1].trial_id]
