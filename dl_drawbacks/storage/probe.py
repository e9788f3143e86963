"""On a multi-node cluster every node must reach the bucket (its trials write there): a zero-CPU task pinned
to each alive node opens the prefix with that node's own environment (endpoint, credentials)."""

from __future__ import annotations

from ..errors import ClusterError
from .bucket import CREDENTIALS_HINT, Bucket

PROBE_TIMEOUT_S = 60.0


def open_here(uri: str) -> str | None:
    """None when this process reaches ``uri``, else the one-line reason."""
    from ..errors import RunFolderError
    from .bucket import open_bucket

    try:
        open_bucket(uri)
    except RunFolderError as exc:
        return str(exc)
    return None


def check_nodes_reach(bucket: Bucket) -> None:
    """Refuse in one line, naming the nodes, a bucket some alive Ray node cannot open. One node: nothing to do."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    if len(nodes) < 2:
        return
    task = ray.remote(open_here)
    refs = [task.options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
            .remote(bucket.uri) for n in nodes]
    try:
        reasons = ray.get(refs, timeout=PROBE_TIMEOUT_S)
    except ray.exceptions.GetTimeoutError:
        raise ClusterError(f"could not check within {PROBE_TIMEOUT_S:g} s that every Ray node reaches --out "
                           f"{bucket.uri}; check that every node is healthy") from None
    blind = [(n, why) for n, why in zip(nodes, reasons) if why]
    if blind:
        shown = ", ".join(f"{n['NodeID'][:8]} ({n.get('NodeManagerAddress', '?')})" for n, _ in blind[:3])
        raise ClusterError(f"--out {bucket.uri} cannot be opened on {len(blind)} of {len(nodes)} Ray nodes ({shown}: "
                           f"{blind[0][1].removeprefix(f'--out {bucket.uri}: ')}); {CREDENTIALS_HINT} on every node")
