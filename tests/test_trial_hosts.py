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


@pytest.mark.ray
def test_a_search_trial_on_a_host_stops_at_the_report_its_scheduler_stopped_and_otherwise_runs_to_its_end(
        ray_cluster, tmp_path):
    """The step-by-step protocol of a hosted search trial (``tune_task.stepwise`` drives it under Tune): the host
    hands over each evaluation and waits; told to stop, the trial ends there with no outcome recorded (the driver
    writes its rows from the checkpoint, as for a trial stopped in its Tune trial's process); told to go on, it runs
    to its end on the same host and its final report carries the objective."""
    import io

    import polars as pl
    import ray

    from dl_drawbacks.studies.hparams.worker import PARTIAL, SEARCH_ENTRY
    from dl_drawbacks.trial_hosts import TrialHost

    first, second = [t for t in plan(load_spec(SPEC.parent / "tiny_hparams.yaml")) if t.sweep == "search"][:2]
    folder = LocalRunFolder(tmp_path)
    host = TrialHost.remote()
    ray.get(host.start_stepwise.remote(SEARCH_ENTRY, Launch(trials=[first], address=str(tmp_path), run_id="r")
                                       .to_config()))
    kind, (result, files) = ray.get(host.next_message.remote(), timeout=120)
    assert kind == "report" and result["dl_trial_id"] == first.trial_id and result["epoch"] == 0
    assert 0.0 <= result["objective"] <= 1.0
    rows = pl.read_parquet(io.BytesIO(files[PARTIAL]))
    assert rows.filter(pl.col("metric") == "stopped_early")["value"].to_list() == [1.0]
    ray.get(host.go_on.remote(False))
    assert ray.get(host.next_message.remote(), timeout=60) == ("stopped", None)
    assert folder.marker(first.trial_id) is None  # stopped: no outcome of its own

    ray.get(host.start_stepwise.remote(SEARCH_ENTRY, Launch(trials=[second], address=str(tmp_path), run_id="r")
                                       .to_config()))
    epochs = []
    while True:
        kind, payload = ray.get(host.next_message.remote(), timeout=120)
        if kind != "report":
            break
        epochs.append(payload[0]["epoch"])
        ray.get(host.go_on.remote(True))
    assert kind == "done" and epochs == [0, 1]  # the last evaluation is the final report, after the marker
    assert payload["dl_trial_id"] == second.trial_id and payload["dl_outcome"] == folder.marker(second.trial_id).status
    assert folder.marker(second.trial_id).status == "completed"
    ray.kill(host)


def test_a_step_report_goes_to_the_host_channel_there_and_to_tune_with_its_checkpoint_elsewhere(monkeypatch):
    import ray.tune

    from dl_drawbacks.step_reports import STEPS, StopTrial, report_step

    taken = []

    def tune_report(result, checkpoint=None):  # what Tune keeps: the result and the checkpoint's files
        with checkpoint.as_directory() as folder:
            taken.append((result, {p.name: p.read_bytes() for p in Path(folder).iterdir()}))

    monkeypatch.setattr(ray.tune, "report", tune_report)
    report_step({"objective": 0.5}, {"partial.parquet": b"rows"})  # in a Tune trial's process
    assert taken == [({"objective": 0.5}, {"partial.parquet": b"rows"})]
    sent = []
    STEPS.send = lambda result, files: sent.append((result, files)) or len(sent) < 2  # go on once, then stop
    try:
        report_step({"objective": 0.6}, {"partial.parquet": b"a"})
        with pytest.raises(StopTrial):
            report_step({"objective": 0.7}, {"partial.parquet": b"b"})
    finally:
        STEPS.send = None
    assert [r["objective"] for r, _ in sent] == [0.6, 0.7] and len(taken) == 1  # on a host: never Tune directly
    assert not issubclass(StopTrial, Exception)  # a trial's `except Exception` never records a stopped trial
