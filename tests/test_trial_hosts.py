"""The run's warm trial hosts (``trial_hosts``): the single-worker trials of every Tune grid of a run run on the same
few long-lived processes, not in each Tune run's fresh ones; a host that dies fails its task as a dying Tune trial
process would and is never handed out again; closing the pool leaves no host alive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dl_drawbacks.launch import Launch
from dl_drawbacks.plan import plan
from dl_drawbacks.progress import Progress
from dl_drawbacks.spec import load_spec
from dl_drawbacks.storage.run_folder import LocalRunFolder
from dl_drawbacks.train.checkpoint import FAULT_ENV
from dl_drawbacks.trial_hosts import close_hosts, hostable, open_hosts
from dl_drawbacks.tune_runner import TrialRunner

SPEC = Path(__file__).resolve().parent / "specs" / "tiny_resume.yaml"


def _trials(steps: int = 12) -> list:
    out = []
    for t in plan(load_spec(SPEC)):
        budget = t.trainer.budget.model_copy(update={"steps": steps, "eval_every": steps})
        out.append(t.model_copy(update={"trainer": t.trainer.model_copy(update={"budget": budget})}))
    return out


def _reports(run_dir: Path) -> dict[str, dict]:
    """Each trial's report as Tune stored it (``result.json`` of every task of every grid)."""
    found = {}
    for path in (run_dir / "ray_tune").glob("*/*/result.json"):
        for line in path.read_text().splitlines():
            result = json.loads(line)
            if "dl_trial_id" in result:
                found[result["dl_trial_id"]] = result
    return found


def _runner(run_dir: Path, hosts: str, n: int) -> TrialRunner:
    return TrialRunner(run_dir=run_dir, run_id="r", progress=Progress(total=n), max_concurrent=2, hosts=hosts)


def test_only_single_worker_cpu_tasks_are_hosted():
    trial = _trials()[0]
    two = trial.model_copy(update={"trainer": trial.trainer.model_copy(update={"workers": 2})})
    gpu = trial.model_copy(update={"trainer": trial.trainer.model_copy(update={"use_gpu": True})})
    launch = Launch(trials=[trial], address="/tmp/x", run_id="r", hosts="pool")
    assert hostable(launch)
    assert not hostable(launch.model_copy(update={"trials": [trial, two]}))
    assert not hostable(launch.model_copy(update={"trials": [gpu]}))


@pytest.mark.ray
def test_the_grids_of_a_run_share_warm_hosts_and_closing_the_pool_ends_them(ray_cluster, tmp_path):
    import ray

    trials = _trials()
    with open_hosts("r") as name:
        pool = ray.get_actor(name)
        runner = _runner(tmp_path, name, len(trials))
        runner.run(trials[:3])  # two Tune runs: each starts its own Tune trial processes
        runner.run(trials[3:])
        hosts = ray.get(pool.hosts.remote())
    reports = _reports(tmp_path)
    assert sorted(reports) == sorted(t.trial_id for t in trials)
    assert all(LocalRunFolder(tmp_path).marker(t.trial_id).status == "completed" for t in trials)
    assert all(r["trial_pid"] != r["tune_pid"] for r in reports.values())  # on a host, not in the Tune trial
    first = {reports[t.trial_id]["trial_pid"] for t in trials[:3]}
    second = {reports[t.trial_id]["trial_pid"] for t in trials[3:]}
    assert len(first) <= 2 and second <= first  # the second Tune run's trials ran on the first run's processes
    assert {reports[t.trial_id]["tune_pid"] for t in trials[3:]}.isdisjoint(
        {reports[t.trial_id]["tune_pid"] for t in trials[:3]})  # while Tune's own processes were fresh
    assert len(hosts) <= 2
    for host in hosts:  # closed: every host is gone
        with pytest.raises(ray.exceptions.RayActorError):
            ray.get(host.ready.remote(), timeout=30)


@pytest.mark.ray
def test_a_task_whose_host_dies_fails_its_trial_and_the_dead_host_is_not_handed_out_again(
        ray_cluster, tmp_path, monkeypatch):
    import ray

    trials = _trials()[:3]
    killed = trials[0].trial_id
    marker = tmp_path / "killed.txt"
    monkeypatch.setenv(FAULT_ENV, json.dumps({"kill_at_step": 5, "rank": 0, "marker": str(marker),
                                              "trials": [killed]}))
    with open_hosts("r") as name:
        runner = TrialRunner(run_dir=tmp_path, run_id="r", progress=Progress(total=3), max_concurrent=1, hosts=name)
        runner.run(trials)  # one slot: the first task is the whole batch, the killed trial first
        hosts = ray.get(ray.get_actor(name).hosts.remote())
    assert marker.exists()
    folder = LocalRunFolder(tmp_path)
    dead = folder.marker(killed)
    assert dead.status == "failed" and dead.fields["error"].startswith("trial process died")
    assert [folder.marker(t.trial_id).status for t in trials[1:]] == ["completed", "completed"]  # run again, alone
    reports = _reports(tmp_path)
    assert len({reports[t.trial_id]["trial_pid"] for t in trials[1:]}) == 1  # on one new host
    assert len(hosts) == 2  # the dead one, and the one started in its place


@pytest.mark.ray
def test_closing_the_pool_leaves_none_of_its_hosts_alive(ray_cluster):
    import ray

    from dl_drawbacks.trial_hosts import HostPool

    pool = HostPool.remote()
    node = ray.get_runtime_context().get_node_id()
    (host,) = ray.get(pool.acquire.remote(node))
    assert ray.get(host.ready.remote())
    close_hosts(pool, wait_s=30)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(host.ready.remote(), timeout=5)
