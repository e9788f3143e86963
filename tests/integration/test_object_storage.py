"""`dl-drawbacks run --out s3://…` against a real S3 endpoint (moto's server on 127.0.0.1, started here).

- Kill and resume: the driver (in its own process session, with its own local Ray cluster, so its workers
  see the endpoint's environment) is SIGKILLed after at least one trial's marker is in the bucket and before
  all; `--resume` takes over the dead driver's lock and finishes. Every rows object finished before the kill
  is byte-identical after, and every trial has exactly one rows object and one marker.
- Multi-node: a `ray.cluster_utils.Cluster` (a head with no CPUs, one worker node) in a subprocess runs a
  study whose trials all run on the worker node; every rows object is in the bucket, its marker names that
  node, and the 2-worker trial's Ray Train checkpoints (written to the bucket) are removed once it finished.
  A third node whose environment names a dead endpoint is then refused by the every-node bucket probe.
- Fast (default run): resuming from a bucket with finished trials and a dead driver's lock, without Ray.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from dl_drawbacks.storage import open_bucket
from dl_drawbacks.storage.run_folder import BucketRunFolder, LocalRunFolder
from process_sessions import end_session

SPECS = Path(__file__).resolve().parents[1] / "specs"
KILL_SPEC = SPECS / "tiny_kill.yaml"


def _env(s3, tmp_path: Path, ray_tmp: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return {**env, **s3.env, "RAY_TMPDIR": ray_tmp, "RAY_AUTH_MODE": "disabled",
            "DL_DRAWBACKS_STAGING": str(tmp_path / "staging")}


def _finished(bucket, trial_ids) -> dict[str, bytes]:
    return {t: bucket.read_bytes(f"trials/{t}/rows.parquet") for t in trial_ids if BucketRunFolder(bucket).is_finished(t)}


def _trial_ids(bucket) -> set[str]:
    return {rel.split("/")[1] for rel in bucket.listing("trials")}


@pytest.mark.slow
@pytest.mark.ray
def test_sigkill_the_driver_then_resume_on_the_bucket(s3, tmp_path):
    uri = s3.uri("kill-resume")
    bucket = open_bucket(uri)
    ray_tmp = tempfile.mkdtemp(prefix="ddbs", dir="/tmp")
    env = _env(s3, tmp_path, ray_tmp)
    args = [sys.executable, "-m", "dl_drawbacks.cli", "run", str(KILL_SPEC), "--out", uri]
    t0 = time.monotonic()
    driver = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline = time.time() + 400
        while time.time() < deadline and driver.poll() is None and not bucket.listing("trials"):
            time.sleep(0.2)
        while time.time() < deadline and driver.poll() is None and not _finished(bucket, _trial_ids(bucket)):
            time.sleep(0.1)
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()
    finally:
        end_session(driver.pid)
    killed_at = time.monotonic() - t0
    before = _finished(bucket, _trial_ids(bucket))
    assert 0 < len(before) < 5, f"the kill should land midway ({len(before)} of 5 finished)"
    lock = json.loads(bucket.read_bytes(".lock"))
    assert lock["pid"] == driver.pid and lock["host"] == socket.gethostname()  # the dead driver's lock is left

    try:
        resumed = subprocess.run(args + ["--resume"], env=env, capture_output=True, text=True, timeout=500,
                                 start_new_session=True)
    finally:
        subprocess.run(["rm", "-rf", ray_tmp], check=False)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming: {len(before)} of 5 trials already finished" in resumed.stderr
    assert f"run folder: {uri} (local copy: " in resumed.stderr
    after = _finished(bucket, _trial_ids(bucket))
    assert len(after) == 5
    assert all(after[t] == rows for t, rows in before.items()), "a finished trial's rows changed"
    objects = bucket.listing("trials")
    for trial_id in after:
        assert sorted(r for r in objects if r.split("/")[1] == trial_id) == [
            f"trials/{trial_id}/rows.parquet", f"trials/{trial_id}/trial.json"]
    assert json.loads(bucket.read_bytes("findings.json"))["compute"]["trials"] == 5
    assert bucket.read_bytes(".lock") is None  # released by the run that finished
    log = bucket.read_bytes("driver.log").decode()
    assert log.count("--- dl-drawbacks run ") == 2 and "resuming:" in log
    print(f"killed after {killed_at:.1f} s with {len(before)} of 5 finished; resume {time.monotonic() - t0:.1f} s")


MULTINODE_SPEC = """\
name: tiny-bucket-multinode
version: 1
tracking: {mode: disabled}
studies:
  - kind: compute
    data: {name: digits}
    model: {family: mlp, size: xs}
    trainer:
      micro_batch: 32
      budget: {steps: 6, eval_every: 3, warmup_steps: 1}
    execution: {checkpoint_every: 2}
    sweeps:
      - name: model_size_mlp
        axes: {model.size: [xs, s]}
      - name: deepspeed_workers
        axes: {trainer.engine: [deepspeed], trainer.workers: [2], trainer.deepspeed.zero_stage: [2]}
"""

SCRIPT = textwrap.dedent("""
    import json, sys
    import ray
    from ray.cluster_utils import Cluster
    from dl_drawbacks.errors import ClusterError
    from dl_drawbacks.execute import run_study_file
    from dl_drawbacks.storage import open_bucket
    from dl_drawbacks.storage.probe import check_nodes_reach

    spec, out = sys.argv[1], sys.argv[2]
    node = {"num_gpus": 0, "object_store_memory": 256 * 2**20}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "num_cpus": 0, "include_dashboard": False})
    try:
        worker = cluster.add_node(**node, num_cpus=3)
        cluster.wait_for_nodes()
        run_study_file(spec, out=out, resume=False, address=cluster.address)  # the bucket probe passes here
        cluster.add_node(**node, num_cpus=0, env_vars={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
        cluster.wait_for_nodes()
        try:
            check_nodes_reach(open_bucket(out))
            refusal = None
        except ClusterError as exc:
            refusal = str(exc)
        print("NODES " + json.dumps({"head": cluster.head_node.node_id, "worker": worker.node_id,
                                     "refusal": refusal}), flush=True)
    finally:
        ray.shutdown()
        cluster.shutdown()
""")


@pytest.mark.slow
@pytest.mark.ray
def test_a_two_node_cluster_writes_every_row_to_the_bucket(s3, tmp_path):
    uri = s3.uri("multinode")
    spec = tmp_path / "multinode.yaml"
    spec.write_text(MULTINODE_SPEC)
    ray_tmp = tempfile.mkdtemp(prefix="ddbm", dir="/tmp")
    bucket = open_bucket(uri)
    checkpoints: set[str] = set()
    done = threading.Event()

    def watch() -> None:  # Ray Train's checkpoints appear in the bucket while the 2-worker trial runs
        while not done.wait(0.5):
            checkpoints.update(k for k in bucket.listing("ray_train") if "/checkpoint_" in k)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(spec), uri], env=_env(s3, tmp_path, ray_tmp),
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=600)
    finally:
        done.set()
        end_session(proc.pid)
        subprocess.run(["rm", "-rf", ray_tmp], check=False)
    assert proc.returncode == 0, output[-4000:]
    nodes = json.loads(next(line for line in output.splitlines() if line.startswith("NODES "))[6:])
    trial_ids = _trial_ids(bucket)
    assert len(trial_ids) == 3 and len(_finished(bucket, trial_ids)) == 3
    markers = [json.loads(bucket.read_bytes(f"trials/{t}/trial.json")) for t in trial_ids]
    assert {m["node_id"] for m in markers} == {nodes["worker"]} != {nodes["head"]}  # written from the other node
    assert checkpoints and not bucket.listing("ray_train")  # written to the bucket, removed once the trial finished
    assert json.loads(bucket.read_bytes("findings.json"))["compute"]["trials"] == 3
    # a node whose environment points elsewhere is refused in one line naming it and what to set
    assert "cannot be opened on 1 of 3 Ray nodes" in nodes["refusal"] and "AWS_ENDPOINT_URL" in nodes["refusal"]
    assert "\n" not in nodes["refusal"]
    print(f"2-node bucket run: {time.monotonic() - t0:.1f} s")


def test_resume_from_a_bucket_takes_over_a_dead_drivers_lock_and_skips_finished_trials(s3, tmp_path, monkeypatch):
    """The resume path without Ray: a bucket run with one finished and one half-written trial, left locked by a
    driver that died on this host; the staging folder gets the finished trial only, and the lock is ours."""
    from dl_drawbacks.execute import check_held, locked_run_folder, resolved_spec_text
    from dl_drawbacks.rows import RowBuffer
    from dl_drawbacks.spec.load import load_spec
    from dl_drawbacks.storage.sync import push_trial

    monkeypatch.setattr("dl_drawbacks.storage.lock.SETTLE_S", 0.0)
    bucket = open_bucket(s3.uri("fast-resume"))
    suite = load_spec(SPECS / "tiny_resume.yaml")
    BucketRunFolder(bucket).write_spec(resolved_spec_text(suite))
    BucketRunFolder(bucket).write_format()
    buf = RowBuffer("compute", "run", "done", 0, {"model.size": "s"})
    buf.add("loss", 0.5, "nats", split="train", step=1)
    LocalRunFolder(tmp_path / "worker").write_trial("done", buf.frame(), {"status": "completed"})
    push_trial(bucket, tmp_path / "worker", "done", replace=True)
    bucket.write_bytes("trials/half/rows.parquet", b"PAR1")
    bucket.write_bytes(".lock", json.dumps({"host": socket.gethostname(), "pid": 2**22 + 4321, "run": "dead",
                                            "started": 0, "heartbeat": 0}).encode())
    with pytest.raises(Exception, match="already holds a run; pass --resume"):
        check_held(BucketRunFolder(bucket), suite, resume=False)
    check_held(BucketRunFolder(bucket), suite, resume=True)
    stage = tmp_path / "stage"
    with locked_run_folder(stage, bucket) as staged:
        held = json.loads(bucket.read_bytes(".lock"))
        assert held["pid"] == os.getpid()
        assert staged.token == {"run": held["run"], "fence": 1}  # what every trial checks before it writes
        assert LocalRunFolder(stage).is_finished("done") and not (stage / "trials" / "half").exists()
        print("progress line")
    assert staged.local == stage and bucket.read_bytes(".lock") is None
    assert "progress line" in bucket.read_bytes("driver.log").decode()
    assert bucket.read_bytes("trials/half/rows.parquet") == b"PAR1"  # nothing of the bucket's deleted


@pytest.mark.slow
def test_tiny_hparams_study_on_a_bucket(s3, tmp_path):
    """The hparams study drives Tune itself: its search trials (each data set under its own ASHA) write to the
    bucket through their mirrors, stopped ones through the driver, and the study is analysed from the bucket."""
    uri = s3.uri("hparams")
    env = {**os.environ, **s3.env, "DL_DRAWBACKS_STAGING": str(tmp_path / "staging"), "WANDB_MODE": "disabled"}
    done = subprocess.run([sys.executable, "-m", "dl_drawbacks.cli", "run", str(SPECS / "tiny_hparams.yaml"),
                           "--out", uri], env=env, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]
    bucket = open_bucket(uri)
    trials = {path.split("/")[1] for path in bucket.listing("trials")}
    assert len(trials) >= 16 and all(BucketRunFolder(bucket).is_finished(t) for t in trials)  # 8 + 8 searched, then the rest
    findings = json.loads(bucket.read_bytes("findings.json"))["hparams"]
    assert findings["importance"]["early"]["configurations_used"] == 8
