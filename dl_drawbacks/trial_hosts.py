"""Warm trial hosts: long-lived processes, one pool per run, that run the single-worker trials of every Tune grid of
the run, so a study's (or a hparams phase's) Tune run does not start fresh processes that import torch, sklearn,
aif360 and the data sets again (measured on the quickstart: 5-6 s before a fresh Tune run's first trial, then
another 2-6 s of first-use imports inside it, against 0.1-0.3 s for a trial on a warm process).

A grid task stays a Tune trial: it reserves the task's resources, asks the pool for a host on its own node, hands the
host its launch and relays each trial's report to Tune (``tune_task.tune_trial``). A search trial does the same step
by step (``tune_task.stepwise``): the host hands over each evaluation with its rows snapshot, the Tune trial
reports it with its checkpoint, and the host trains on only once that report returned; when the scheduler (ASHA)
stops the trial at a report, the host is told to stop there, so the trial ends exactly where it would have in its
Tune trial's process. A host reserves nothing (``num_cpus=0``): it trains on the CPUs its Tune trial holds, one task
at a time, and sets torch's threads per trial (``train.worker.run_worker``). Multi-worker trials (their TorchTrainer
takes its workers from the Tune trial's placement group) and GPU trials (the GPU is assigned to the Tune trial's
process) stay in the Tune trial's own process, as do the trials timed alone (``execute``).

The driver opens the pool for the trial phase (``open_hosts``) and closes it at the end of that phase, a stop request
included, before it records interrupted trials: closing kills every host and waits until each is gone, so no host
writes into the run folder after the driver has read it. Ray's pattern of a named actor handing out other actors:
https://docs.ray.io/en/latest/ray-core/actors/named-actors.html
"""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any, Iterator

import ray

from .launch import Launch

CLOSE_WAIT_S = 30.0  # how long closing the pool waits for the killed hosts to be gone
STOP_WAIT_S = 1.5  # how long a stopped step-reporting trial may take to end on its host (Tune reuses its Tune actor
# only if the trial function returns within TUNE_FUNCTION_THREAD_TIMEOUT_S, 2 s)


def hostable(launch: Launch) -> bool:
    """A task whose trials can run on a warm host: all single-worker, none on a GPU."""
    return all(t.trainer.workers == 1 and not t.trainer.use_gpu for t in launch.trials)


@ray.remote(num_cpus=0, max_concurrency=2)  # a search trial trains on one thread while its Tune trial asks on one more
class TrialHost:
    """One warm process: runs a grid task's trials in order (``trial.task_reports``) and yields each one's report, or
    runs a step-reporting trial (a search trial) on a thread of its own, handing each step over and going on only when
    told to."""

    def run(self, launch_json: str) -> Iterator[dict[str, Any]]:
        from .trial import task_reports

        yield from task_reports(Launch.model_validate_json(launch_json))

    def start_stepwise(self, entry: str, config: dict[str, Any]) -> None:
        """Start the step-reporting trial ``entry`` (``tune_task.stepwise``) of Tune config ``config`` on a thread."""
        import queue
        import threading

        self.outbox: queue.Queue = queue.Queue()
        self.inbox: queue.Queue = queue.Queue()
        threading.Thread(target=self._stepwise, args=(entry, config), name="stepwise-trial", daemon=True).start()

    def _stepwise(self, entry: str, config: dict[str, Any]) -> None:
        from .step_reports import STEPS, StopTrial, entry_function

        def send(result: dict[str, Any], files: dict[str, bytes]) -> bool:
            self.outbox.put(("report", (result, files)))
            return self.inbox.get()

        STEPS.send = send
        try:
            self.outbox.put(("done", entry_function(entry)(config)))
        except StopTrial:
            self.outbox.put(("stopped", None))
        except BaseException as exc:  # noqa: BLE001 - the trial's Tune trial raises it
            self.outbox.put(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        finally:
            STEPS.send = None

    def next_message(self) -> tuple[str, Any]:
        """The step-reporting trial's next step ("report", (result, checkpoint files)) or its end ("done", its final
        report; "stopped"; "error", the exception)."""
        return self.outbox.get()

    def go_on(self, go: bool) -> None:
        """The answer to the last step report: train on, or stop (the scheduler stopped the trial)."""
        self.inbox.put(go)

    def ready(self) -> bool:
        return True

    def node_id(self) -> str:
        """The Ray node this host runs on (the pool pins each host to the node that asked for it)."""
        return ray.get_runtime_context().get_node_id()


@ray.remote(num_cpus=0)
class HostPool:
    """The run's hosts: an idle one of the asking node, else a new one pinned to that node."""

    def __init__(self) -> None:
        self.idle: dict[str, list[Any]] = {}
        self.every: list[Any] = []

    def acquire(self, node_id: str) -> list[Any]:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        idle = self.idle.setdefault(node_id, [])
        if idle:
            return [idle.pop()]
        host = TrialHost.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False)).remote()
        self.every.append(host)
        return [host]  # in a list: the handle travels as a value, not as an object to resolve

    def release(self, node_id: str, hosts: list[Any]) -> None:
        self.idle.setdefault(node_id, []).extend(hosts)

    def hosts(self) -> list[Any]:
        return list(self.every)


def _lease(launch: Launch) -> tuple[Any, Any, str]:
    """(the pool, a host of this node, this node's id)."""
    node = ray.get_runtime_context().get_node_id()
    pool = ray.get_actor(launch.hosts)
    (host,) = ray.get(pool.acquire.remote(node))
    return pool, host, node


def hosted_reports(launch: Launch) -> Iterator[dict[str, Any]]:
    """The reports of ``launch``'s trials, run on a warm host of this node. A host that dies (killed, out of memory)
    raises here as the task's error, as a dying Tune trial process would; it is not handed out again."""
    pool, host, node = _lease(launch)
    healthy = False
    try:
        for report in host.run.options(num_returns="streaming").remote(launch.model_dump_json()):
            yield ray.get(report)
        healthy = True
    except ray.exceptions.RayTaskError:
        healthy = True  # the task raised (an outcome that could not be recorded); the host itself is fine
        raise
    finally:
        if healthy:  # back before this Tune trial takes its next task: a reused Tune actor asks again at once
            ray.get(pool.release.remote(node, [host]))


def hosted_stepwise(launch: Launch, config: dict[str, Any], entry: str) -> None:
    """A step-reporting trial (``tune_task.stepwise``) on a warm host: each step the host hands over is reported here
    with its checkpoint, and the host trains on only after the report returned. When the scheduler stops the trial,
    Tune ends this thread at that report (``SystemExit``): the host is told to stop there, as Tune would have stopped
    the trial in its own process, and is handed back once the trial has ended."""
    from ray import tune

    from .step_reports import report_with_checkpoint

    pool, host, node = _lease(launch)
    ended = False
    try:
        ray.get(host.start_stepwise.remote(entry, config))
        while True:
            kind, payload = ray.get(host.next_message.remote())
            if kind == "report":
                report_with_checkpoint(*payload)
                ray.get(host.go_on.remote(True))
                continue
            ended = True
            if kind == "error":
                raise payload
            if kind == "done":
                tune.report(payload)
            return
    finally:
        _end_stepwise(pool, host, node, stopped=not ended)


def _end_stepwise(pool: Any, host: Any, node: str, *, stopped: bool) -> None:
    """Back to the pool once its trial has ended (told to stop first when Tune stopped it); a host that died or does
    not end its trial in time is not handed out again."""
    try:
        if stopped:
            ray.get(host.go_on.remote(False), timeout=STOP_WAIT_S)
            while ray.get(host.next_message.remote(), timeout=STOP_WAIT_S)[0] == "report":
                ray.get(host.go_on.remote(False), timeout=STOP_WAIT_S)
        ray.get(pool.release.remote(node, [host]))
    except ray.exceptions.RayError:
        pass


@contextlib.contextmanager
def open_hosts(run_id: str) -> Iterator[str | None]:
    """The run's pool of warm hosts for the trial phase; yields its name (``Launch.hosts``), or None when this process
    is not connected to Ray (then every task runs in its Tune trial's process). On exit every host is killed and gone
    before the driver goes on."""
    if not ray.is_initialized():
        yield None
        return
    name = f"dl-drawbacks-hosts-{run_id}-{uuid.uuid4().hex[:8]}"
    pool = HostPool.options(name=name).remote()
    try:
        yield name
    finally:
        close_hosts(pool)


def close_hosts(pool: Any, wait_s: float = CLOSE_WAIT_S) -> None:
    """Kill the pool and each of its hosts, then wait until every host is gone (a killed host that still ran a trial
    could otherwise write its marker after the driver recorded that trial as interrupted)."""
    try:
        hosts = ray.get(pool.hosts.remote(), timeout=wait_s)
    except (ray.exceptions.RayError, TimeoutError):
        hosts = []
    for actor in [*hosts, pool]:
        ray.kill(actor, no_restart=True)
    deadline = time.monotonic() + wait_s
    for host in hosts:
        while time.monotonic() < deadline:
            try:
                ray.get(host.ready.remote(), timeout=1.0)
            except ray.exceptions.GetTimeoutError:  # still finishing a trial: the kill has not landed yet
                continue
            except ray.exceptions.RayActorError:  # gone
                break
            time.sleep(0.05)
