"""Connecting to Ray and checking that the cluster can hold every planned trial."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

from .errors import ClusterError
from .plugins import plugin_sources
from .spec.models import TrialSpec


def resolve_address(address: str | None) -> str | None:
    """Ray's own order (``ray.init``, ``ray job submit``): an explicit ``--address``, then ``RAY_ADDRESS``
    (set by ``ray job submit`` for its entrypoint), then ``None``: a new local cluster. ``--address local``
    starts a local cluster even when ``RAY_ADDRESS`` is set."""
    if address:
        return address
    return os.environ.get("RAY_ADDRESS", "").strip() or None


def connect(address: str | None, *, plugins: list[str] | tuple[str, ...] = (),
            dashboard: bool = False) -> dict[str, float]:
    """Start a local Ray cluster or join a running one (``resolve_address``); returns the cluster's resources.
    The spec's plug-in modules that are not installed packages ship to every worker (``py_modules``).
    ``dashboard`` keeps the local cluster's dashboard (trial logs, actors) and prints its address.

    The local cluster gets one logical CPU more than the machine has: a multi-worker trial holds
    one CPU for its (mostly idle) Tune trial process besides its workers (FACTS.md). Its processes are
    recorded (ray_processes.py): a signal kills them, and what a killed driver left behind is stopped here.
    """
    import ray
    import ray._private.utils

    from .interrupt import signals_held
    from .ray_processes import clean_up_orphans, record_local_cluster

    if ray.is_initialized():
        return ray.cluster_resources()
    kwargs: dict[str, Any] = {"logging_level": "ERROR", "log_to_driver": False, "configure_logging": True}
    sources = plugin_sources(plugins)
    if sources:
        kwargs["runtime_env"] = {"py_modules": sources}
    source = "--address" if address else "RAY_ADDRESS"
    address = resolve_address(address)
    if address not in (None, "local"):
        probe(address, source=source)
    local = address in (None, "local")
    if local:
        for line in clean_up_orphans():
            print(line, file=sys.stderr)
    try:
        with signals_held(ray._private.utils, "set_sigterm_handler"):
            if local:
                context = ray.init(address="local", num_cpus=(os.cpu_count() or 1) + 1,
                                   include_dashboard=dashboard, **kwargs)
                record_local_cluster()
            else:
                with bounded_wait(GCS_CONNECT_S, f"cannot reach the Ray cluster at {address!r}: its GCS accepted "
                                                 f"the connection but Ray did not connect within {{s:g}} s (a hung or "
                                                 f"overloaded head?); check {source} and the head node"):
                    context = ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Ray cluster at {address!r}: {str(exc).splitlines()[0]}; "
                           f"check {source}") from None
    except Exception as exc:  # noqa: BLE001 - Ray raises a bare Exception when its local node does not start
        if not local:
            raise
        raise ClusterError(f"the local Ray cluster did not start: {str(exc).splitlines()[0]} (an overloaded "
                           f"machine? check free memory and CPU load, then run again)") from None
    if dashboard:
        url = getattr(context, "dashboard_url", None)
        print(f"Ray dashboard: http://{url}" if url else "Ray dashboard: not running on this cluster", file=sys.stderr)
    return ray.cluster_resources()


CONNECT_TIMEOUT_S = 10.0
GCS_CONNECT_S = float(os.environ.get("DL_DRAWBACKS_GCS_CONNECT_S", 30))  # ray.init to a head, after the probe


@contextlib.contextmanager
def bounded_wait(seconds: float, message: str) -> Iterator[None]:
    """A call into Ray's C++ core that may wait without end (``ray.init`` to a GCS that accepts and stalls: its own
    request timeouts retry for minutes) gets ``seconds``: then ``message`` (``{s}`` is the limit) is printed as
    one ``error:`` line and the process exits 2 at once; a thread cannot interrupt the call any other way."""
    def give_up() -> None:
        print(f"error: {message.format(s=seconds)}", file=sys.stderr, flush=True)
        os._exit(ClusterError.exit_code)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  # + an empty SETTINGS


def probe(address: str, timeout_s: float = CONNECT_TIMEOUT_S, *, source: str = "--address") -> None:
    """One TCP connect to a ``host:port`` address, then one gRPC handshake (``ray.init`` waits minutes on a
    dead or hung head): Ray's GCS and Ray Client servers speak gRPC, whose HTTP/2 server answers a client's
    connection preface with a SETTINGS frame (RFC 9113 §3.4), so a port that accepts but never answers (a
    hung head) or answers otherwise (the dashboard's HTTP port) is named within ``timeout_s``. ``auto`` is
    probed when ``RAY_ADDRESS`` names the cluster; with ``RAY_USE_TLS`` only the TCP connect is tried."""
    target = os.environ.get("RAY_ADDRESS", "") if address == "auto" else address
    host, sep, port = target.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        if address != "auto":
            raise ClusterError(f"{source} {address!r}: give HOST:PORT of the Ray head (GCS port, default 6379), "
                               f"or auto")
        return
    where = f"cannot reach the Ray cluster at {target!r}"
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout_s) as conn:
            if os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
                return
            conn.sendall(HTTP2_PREFACE)
            answer = _read_at_least(conn, 9)
    except (OSError, OverflowError) as exc:
        reason = (f"no answer in {timeout_s:g} s" if isinstance(exc, socket.timeout)
                  else (getattr(exc, "strerror", None) or str(exc)))
        raise ClusterError(f"{where} ({reason}); check {source} and that the head node runs") from None
    if answer is None:
        raise ClusterError(f"{where}: the port accepts connections but did not answer Ray's protocol in "
                           f"{timeout_s:g} s (a hung head?); check {source} and the head node")
    if len(answer) < 9 or answer[3] != 4:
        raise ClusterError(f"{where}: the port answers, but not as Ray's GCS (an HTTP server such as the "
                           f"dashboard's 8265? that port is for `dl-drawbacks job submit`); check {source}: the GCS "
                           f"port, default 6379, or ray://HOST:10001")


def _read_at_least(conn: socket.socket, n: int) -> bytes | None:
    """Up to ``n`` bytes, fewer if the peer closes; None when nothing came before the socket's timeout."""
    data = b""
    try:
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        return data or None
    return data


def trial_resources(trial: TrialSpec) -> dict[str, float]:
    """What a trial takes from the cluster: its workers, plus one CPU for the Tune trial when N > 1, plus the
    CPUs a streamed data set reserves for Ray Data's read tasks."""
    t = trial.trainer
    cpus = t.workers * t.cpus_per_worker + (1 if t.workers > 1 else 0) + _read_cpus(trial)
    gpus = t.workers if t.use_gpu else 0
    return {"CPU": float(cpus), **({"GPU": float(gpus)} if gpus else {})}


def _read_cpus(trial: TrialSpec) -> float:
    from .data.streamed import reserved_read_cpus

    return reserved_read_cpus(trial.data.name, trial.data.options)


def trials_at_once(trials: list[TrialSpec], resources: dict[str, float]) -> int | None:
    """How many of ``trials`` the cluster's ``resources`` hold at once, their Ray Train workers included, when any
    has N > 1 workers (None otherwise: Tune places a 1-worker trial whole). Tune sees only an N-worker trial's own
    bundle; its TorchTrainer asks for the workers once the trial runs, so without this cap Tune starts trials
    whose workers never fit and Ray Train's worker-group start times out."""
    if all(t.trainer.workers == 1 for t in trials):
        return None
    needs = [trial_resources(t) for t in trials]
    return max(1, min(int(resources.get(key, 0.0) // max(n.get(key, 0.0) for n in needs))
                      for key in {key for n in needs for key in n}))


def tune_trial_resources(trial: TrialSpec) -> Any:
    """What the Tune trial itself reserves: all of a 1-worker trial; 1 CPU for an N-worker trial,
    whose TorchTrainer then asks the cluster for its workers (Train V2 inside Tune). A streamed data set's
    read CPUs are a bundle of their own in the trial's placement group, where its Ray Data tasks run
    (``data.streamed.data_task_args``), so workers that take every other core cannot starve them."""
    read = _read_cpus(trial)
    head = trial_resources(trial) if trial.trainer.workers == 1 else {"CPU": 1.0 + read}
    if not read:
        return head
    from ray.tune import PlacementGroupFactory

    return PlacementGroupFactory([{**head, "CPU": head["CPU"] - read}, {"CPU": read}])


def node_count() -> int:
    import ray

    return sum(1 for n in ray.nodes() if n.get("Alive"))


def largest_node_memory() -> float:
    """Bytes of Ray's ``memory`` resource on the largest alive node (0 when no node reports it)."""
    import ray

    return max((n.get("Resources", {}).get("memory", 0.0) for n in ray.nodes() if n.get("Alive")), default=0.0)


def check_fits(trials: list[TrialSpec], resources: dict[str, float], nodes: int) -> None:
    """Refuse, before anything runs, a trial the cluster cannot ever schedule."""
    for trial in trials:
        need = trial_resources(trial)
        for key, amount in need.items():
            have = resources.get(key, 0.0)
            if amount > have:
                t = trial.trainer
                raise ClusterError(
                    f"trial {trial.trial_id} ({t.workers} workers x {t.cpus_per_worker} CPU"
                    f"{', GPU' if t.use_gpu else ''}) needs {amount:g} {key} but the cluster has {have:g}; "
                    f"lower trainer.workers/cpus_per_worker or add nodes"
                )
        if trial.trainer.placement == "STRICT_SPREAD" and trial.trainer.workers > nodes:
            raise ClusterError(f"trial {trial.trial_id}: STRICT_SPREAD of {trial.trainer.workers} workers needs "
                               f"as many nodes; the cluster has {nodes}")


PROBE_TIMEOUT_S = 120.0


def read_probe(path: str) -> str | None:
    """What a node reads at ``path`` (None when the file is not there: that node does not see the folder)."""
    try:
        return Path(path).read_text()
    except OSError:
        return None


def check_shared_folder(out: Path, *, read: Callable[[str], str | None] = read_probe) -> None:
    """On a multi-node cluster every node must see the run folder (trials write their rows and Ray Train its
    checkpoints there from whichever node runs them): one probe file written here, in the nearest existing
    folder of ``out``, read back by a zero-CPU task pinned to each alive node. Refused in one line naming
    the nodes that miss it. One node: nothing to check."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    if len(nodes) < 2:
        return
    folder = next(p for p in [out, *out.parents] if p.exists())
    token = secrets.token_hex(16)
    probe_file = folder / f".dl-drawbacks-probe-{token[:12]}"
    probe_file.write_text(token)
    reader = ray.remote(read)
    try:
        refs = [reader.options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
                .remote(str(probe_file)) for n in nodes]
        seen = ray.get(refs, timeout=PROBE_TIMEOUT_S)
    except ray.exceptions.GetTimeoutError:
        raise ClusterError(f"could not check within {PROBE_TIMEOUT_S:g} s that every Ray node sees --out {out}; "
                           f"check that every node is healthy") from None
    finally:
        probe_file.unlink(missing_ok=True)
    blind = [f"{n['NodeID'][:8]} ({n.get('NodeManagerAddress', '?')})" for n, text in zip(nodes, seen) if text != token]
    if blind:
        shown = ", ".join(blind[:3]) + (", ..." if len(blind) > 3 else "")
        raise ClusterError(f"--out {out} is not visible on {len(blind)} of {len(nodes)} Ray nodes ({shown}): trials "
                           f"there would write rows no one reads; put --out on a volume every node mounts "
                           f"(e.g. k8s/base/pvc.yaml)")
