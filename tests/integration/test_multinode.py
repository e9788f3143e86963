"""A 2-worker DeepSpeed trial spread over 2 Ray nodes (`ray.cluster_utils.Cluster`, STRICT_SPREAD); the
run-folder probe passes on the shared folder and refuses one only the head node sees.

The whole study on 2 nodes runs under `-m slow` (~100 s on an idle 2-core box). Its fast equivalent in the
default run starts the same 2-node cluster and checks the three things only a second node shows: the trial's own
`ScalingConfig` (``trial.scaling_config``) places one worker bundle on each node, the probe refuses a folder
only the head sees, and a warm trial host (``trial_hosts``) starts on the node that asked for it; the 2-worker DeepSpeed trial itself runs by default on one node (`test_run_compute.py`).

The cluster (head + 1 added node, 2 CPUs each, on this one machine) lives in a subprocess that
runs `run_study_file` against it, so it never meets the session's `ray_cluster` (one `ray.init`
per process). The subprocess gets its own RAY_TMPDIR, so it neither writes nor reads
/tmp/ray/ray_current_cluster, and its own process session, which the test ends afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import polars as pl
import pytest
from process_sessions import end_session

pytestmark = [pytest.mark.ray, pytest.mark.own_ray]  # its own cluster: runs beside the session's Ray tests

SPEC = """\
name: tiny-multinode
version: 1
tracking: {mode: disabled}
studies:
  - kind: compute
    data: {name: digits}
    model: {family: mlp, size: xs}
    trainer:
      workers: 2
      placement: STRICT_SPREAD
      micro_batch: 32
      deepspeed: {zero_stage: 2}
      budget: {steps: 4, eval_every: 2, warmup_steps: 1}
"""

SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import ray
    from ray.cluster_utils import Cluster
    from dl_drawbacks.cluster import check_shared_folder, read_probe
    from dl_drawbacks.errors import ClusterError
    from dl_drawbacks.execute import run_study_file

    spec, out = sys.argv[1], sys.argv[2]
    node = {"num_cpus": 2, "num_gpus": 0, "object_store_memory": 256 * 2**20}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    try:
        cluster.add_node(**node)
        cluster.wait_for_nodes()
        run_study_file(spec, out=out, resume=False, address=cluster.address)  # the run folder probe passes here
        head = ray.get_runtime_context().get_node_id()

        def head_only(path):  # a node-local folder: only the driver's node sees the probe
            return read_probe(path) if ray.get_runtime_context().get_node_id() == head else None

        try:
            check_shared_folder(Path(out) / "new", read=head_only)
            refusal = None
        except ClusterError as exc:
            refusal = str(exc)
        alive = [n for n in ray.nodes() if n["Alive"]]
        workers = [a for a in ray._private.state.actors().values() if a["ActorClassName"] == "RayTrainWorker"]
        groups = [g for g in ray.util.placement_group_table().values() if g["strategy"] == "STRICT_SPREAD"]
        print("CLUSTER " + json.dumps({
            "refusal": refusal, "left": sorted(p.name for p in Path(out).iterdir() if p.name.startswith(".dl-")),
            "nodes": [n["NodeID"] for n in alive], "ips": sorted({n["NodeManagerAddress"] for n in alive}),
            "worker_nodes": [a["Address"]["NodeID"] for a in workers],
            "bundle_nodes": [list(g["bundles_to_node_id"].values()) for g in groups],
        }), flush=True)
    finally:
        ray.shutdown()
        cluster.shutdown()
""")


PLACEMENT_SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import ray
    from ray.cluster_utils import Cluster
    from ray.util.placement_group import placement_group, placement_group_table, remove_placement_group
    from dl_drawbacks.cluster import check_shared_folder, read_probe
    from dl_drawbacks.errors import ClusterError
    from dl_drawbacks.plan import load_checked, plan
    from dl_drawbacks.trial import scaling_config

    spec, out = sys.argv[1], Path(sys.argv[2])
    node = {"num_cpus": 2, "num_gpus": 0, "object_store_memory": 128 * 2**20}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    try:
        cluster.add_node(**node)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
        (trial,) = plan(load_checked(spec))
        config = scaling_config(trial)
        bundles = [dict(config.resources_per_worker)] * config.num_workers
        group = placement_group(bundles, strategy=config.placement_strategy)
        ray.get(group.ready(), timeout=60)
        placed = list(placement_group_table(group)["bundles_to_node_id"].values())
        remove_placement_group(group)
        out.mkdir()
        check_shared_folder(out)  # every node sees this folder: passes
        head = ray.get_runtime_context().get_node_id()

        def head_only(path):  # a node-local folder: only the driver's node sees the probe
            return read_probe(path) if ray.get_runtime_context().get_node_id() == head else None

        try:
            check_shared_folder(out / "new", read=head_only)
            refusal = None
        except ClusterError as exc:
            refusal = str(exc)
        from dl_drawbacks.trial_hosts import HostPool, close_hosts

        nodes = [n["NodeID"] for n in ray.nodes() if n["Alive"]]
        pool = HostPool.remote()  # a warm host asked for by a Tune trial on each node
        hosts = {node: ray.get(pool.acquire.remote(node))[0] for node in nodes}
        host_nodes = {node: ray.get(host.node_id.remote(), timeout=60) for node, host in hosts.items()}
        close_hosts(pool)
        print("CLUSTER " + json.dumps({
            "strategy": config.placement_strategy, "refusal": refusal, "placed": placed, "nodes": nodes,
            "host_nodes": host_nodes, "left": sorted(p.name for p in out.iterdir()),
        }), flush=True)
    finally:
        ray.shutdown()
        cluster.shutdown()
""")


def _run_on_two_nodes(script: str, spec: Path, out: Path) -> str:
    """``script`` in its own process (one ``ray.init`` per process) with its own RAY_TMPDIR and process session."""
    ray_tmp = tempfile.mkdtemp(prefix="ddbm", dir="/tmp")  # short: Ray's socket paths have a length limit
    env = {**os.environ, "RAY_TMPDIR": ray_tmp, "RAY_AUTH_MODE": "disabled"}
    proc = subprocess.Popen([sys.executable, "-c", script, str(spec), str(out)], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=300)
    finally:
        end_session(proc.pid)  # the Cluster's raylets, if its own shutdown did not finish
        subprocess.run(["rm", "-rf", ray_tmp], check=False)
    assert proc.returncode == 0, output[-4000:]
    return json.loads(next(line for line in output.splitlines() if line.startswith("CLUSTER "))[8:])


def test_the_trials_workers_are_placed_one_per_node_and_a_head_only_folder_is_refused(tmp_path):
    """Fast equivalent of the slow 2-node study below: the same spec's ScalingConfig on the same 2-node cluster."""
    spec = tmp_path / "multinode.yaml"
    spec.write_text(SPEC)
    cluster = _run_on_two_nodes(PLACEMENT_SCRIPT, spec, tmp_path / "run")
    assert len(cluster["nodes"]) == 2 and cluster["strategy"] == "STRICT_SPREAD"
    assert sorted(cluster["placed"]) == sorted(cluster["nodes"])  # one worker bundle on each node
    assert "is not visible on 1 of 2 Ray nodes" in cluster["refusal"] and "\n" not in cluster["refusal"]
    assert cluster["left"] == []  # the probe files are removed, passed or refused
    assert cluster["host_nodes"] == {node: node for node in cluster["nodes"]}  # each warm host on its asker's node


@pytest.mark.slow
def test_strict_spread_trial_runs_on_two_nodes(tmp_path):
    spec = tmp_path / "multinode.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "run"
    t0 = time.monotonic()
    cluster = _run_on_two_nodes(SCRIPT, spec, out)
    seconds = time.monotonic() - t0
    assert len(cluster["nodes"]) == 2
    # a folder only the head sees is refused in one line naming the other node; the probe file is removed
    assert "is not visible on 1 of 2 Ray nodes" in cluster["refusal"] and "\n" not in cluster["refusal"]
    assert cluster["left"] == []
    # the trial's 2 Train workers ran on the 2 different nodes, one placement bundle on each
    assert sorted(cluster["worker_nodes"]) == sorted(cluster["nodes"])
    assert [sorted(b) for b in cluster["bundle_nodes"]] == [sorted(cluster["nodes"])]
    (trial,) = (out / "trials").iterdir()
    marker = json.loads((trial / "trial.json").read_text())
    assert marker["status"] == "completed", marker
    rows = pl.read_parquet(trial / "rows.parquet")
    assert sorted(rows.filter(pl.col("metric") == "peak_memory")["rank"].to_list()) == [0, 1]
    workers = rows.filter(pl.col("metric") == "worker")
    assert sorted(workers["rank"].to_list()) == [0, 1]
    assert {g.removeprefix("node:") for g in workers["group"]} == set(cluster["nodes"])  # the rows record both nodes
    # A node counter (RAPL) is read by local rank 0 only, and Ray Train numbers local ranks per node *IP*: all
    # raylets here share one IP, so the machine's counter is read once, not once per raylet. Without a counter
    # (these VMs) each worker is charged its own process's CPU time, one row per process, never the node twice.
    energy = rows.filter(pl.col("metric") == "energy")
    assert len(cluster["ips"]) == 1
    if set(energy["provenance"]) == {"rapl"}:
        assert energy["rank"].to_list() == [0], energy
    else:
        assert sorted(energy["rank"].to_list()) == [0, 1], energy
        assert energy["group"].n_unique() == 2 and set(energy["group"].str.slice(0, 8)) == {"process:"}
    assert set(energy["provenance"]) <= {"rapl", "estimate", "nvml"}
    assert '"zero_stage":2' in rows["factors"][0]
    print(f"2-node STRICT_SPREAD study: {seconds:.1f} s; workers on nodes {cluster['worker_nodes']}, one IP {cluster['ips']}")
