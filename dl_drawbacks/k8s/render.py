"""Render a KubeRay RayJob that runs one study on its own, short-lived Ray cluster.

The RayJob starts a RayCluster from the packaged template (templates/rayjob.yaml, a copy of
k8s/jobs/rayjob.yaml with ${...} placeholders), runs
`dl-drawbacks run /app/studies/<spec> --out /mnt/runs/<name> --address auto --resume` on it (a
retry after a lost pod, up to `backoffLimit`, or a resubmission finishes the run instead of being
refused; on an empty folder --resume is a fresh run), and deletes the cluster `ttl_seconds` (default
60) after the job ends so its pods release their GPUs, unless `keep_cluster`. Before anything is
rendered the study's planned trials are checked against the rendered cluster's shape, as `run` checks
them against a live cluster (cluster.check_fits), and GPU pods for a study that uses none are refused.
Secrets are only referenced (secretKeyRef), never copied into the manifest.
"""

from __future__ import annotations

import copy
import re
import secrets
import shlex
import string
from pathlib import Path, PurePosixPath

import yaml

from dl_drawbacks.errors import SpecError

TEMPLATE = Path(__file__).with_name("templates") / "rayjob.yaml"
DEFAULT_IMAGE = "dl-drawbacks:0.1.0"
GPU_IMAGE_SUFFIX = "-gpu"
IMAGE_STUDIES_DIR = PurePosixPath("/app/studies")  # where k8s/Dockerfile copies studies/
RUNS_DIR = PurePosixPath("/mnt/runs")  # the ReadWriteMany volume (k8s/base/pvc.yaml)
NAME_MAX = 47  # KubeRay: a RayJob name is at most 47 characters
SUFFIX_LEN = 5
LABEL_MAX = 63
MEMORY_GIB_PER_CPU = 4
MEMORY_GIB_PER_GPU = 16
SHM_FRACTION = 0.3  # Ray's object store defaults to 30% of memory and lives in /dev/shm
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
DEFAULT_CPUS_PER_WORKER = 4  # studies/compute.yaml's 2-worker trials need 3 CPU on one pod (2 + their Tune trial)
KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
DEFAULT_TTL_S = 60  # KubeRay deletes the job's RayCluster this long after the job ends
DEFAULT_BACKOFF_LIMIT = 2  # retries of a failed job, each on a new cluster, each resuming the run folder


def dns_label(text: str, max_len: int = LABEL_MAX) -> str:
    """`text` as a DNS-1035 label: lowercase, '-' for other characters, starting with a letter."""
    label = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    label = re.sub(r"^[^a-z]+", "", label)
    label = (label or "study")[:max_len].rstrip("-")
    return label


def job_name(stem: str, name: str | None = None) -> str:
    """The RayJob name: `name` if given (must be valid), else <slug of stem>-<5 random chars>."""
    if name is not None:
        if len(name) > NAME_MAX or not DNS_1035.match(name):
            raise SpecError(f"--name {name!r}: use lowercase letters, digits and '-', starting with a "
                            f"letter, at most {NAME_MAX} characters")
        return name
    alphabet = string.ascii_lowercase + string.digits
    suffix = "".join(secrets.choice(alphabet) for _ in range(SUFFIX_LEN))
    return f"{dns_label(stem, NAME_MAX - SUFFIX_LEN - 1)}-{suffix}"


def spec_in_image(spec_path: str) -> PurePosixPath:
    """Where the spec lives inside the image: /app/studies/<path below the local studies/ folder>."""
    path = Path(spec_path)
    if path.suffix not in (".yaml", ".yml"):
        raise SpecError(f"spec {spec_path!r} is not a .yaml file; pass a study such as studies/compute.yaml")
    if not path.is_file():
        raise SpecError(f"spec {spec_path!r} not found; pass a study such as studies/compute.yaml")
    parts = path.resolve().parts
    if "studies" not in parts:
        raise SpecError(f"spec {spec_path!r} is not under a studies/ folder, so it is not in the "
                        "image; copy it into studies/ and rebuild the image (k8s/README.md)")
    below = parts[len(parts) - parts[::-1].index("studies"):]
    return IMAGE_STUDIES_DIR.joinpath(*below)


def _check(workers: int, gpus: int, cpus: int, ttl: int, deadline: int, namespace: str | None,
           backoff: int = 0) -> None:
    checks = [
        (isinstance(backoff, int) and backoff >= 0, f"backoff limit must be an integer >= 0, got {backoff!r}"),
        (isinstance(workers, int) and workers >= 1, f"workers must be an integer >= 1, got {workers!r}"),
        (isinstance(gpus, int) and gpus >= 0, f"gpus per worker must be an integer >= 0, got {gpus!r}"),
        (isinstance(cpus, int) and cpus >= 1, f"cpus per worker must be an integer >= 1, got {cpus!r}"),
        (isinstance(ttl, int) and ttl >= 0, f"ttl seconds must be an integer >= 0, got {ttl!r}"),
        (isinstance(deadline, int) and deadline >= 1,
         f"deadline seconds must be an integer >= 1, got {deadline!r}"),
        (namespace is None or bool(DNS_1123.match(namespace)) and len(namespace) <= LABEL_MAX,
         f"namespace {namespace!r} is not a valid Kubernetes namespace name"),
    ]
    for ok, message in checks:
        if not ok:
            raise SpecError(message)


def _fill(node: object, values: dict[str, str]) -> object:
    """Replace ${placeholders} in every string of the template tree."""
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(item, values) for item in node]
    if isinstance(node, str):
        return string.Template(node).substitute(values)
    return node


def _size_workers(group: dict, *, workers: int, cpus: int, gpus: int) -> None:
    """Fixed-size worker group: `workers` pods of `cpus` CPUs (+ `gpus` GPUs) each."""
    memory = cpus * MEMORY_GIB_PER_CPU + gpus * MEMORY_GIB_PER_GPU
    amounts = {"cpu": str(cpus), "memory": f"{memory}Gi"}
    if gpus:
        amounts["nvidia.com/gpu"] = gpus
    group.update(replicas=workers, minReplicas=workers, maxReplicas=workers)
    pod = group["template"]["spec"]
    container = pod["containers"][0]
    container["resources"] = {"requests": dict(amounts), "limits": dict(amounts)}
    for volume in pod["volumes"]:
        if volume["name"] == "dshm":
            volume["emptyDir"]["sizeLimit"] = f"{max(1, int(memory * SHM_FRACTION))}Gi"
    if gpus:
        group["groupName"] = "gpu-workers"
        group["template"]["metadata"]["labels"]["app.kubernetes.io/component"] = "ray-worker-gpu"
        pod["tolerations"] = [dict(GPU_TOLERATION)]


def check_capacity(spec_path: str, *, workers: int, cpus_per_worker: int, gpus_per_worker: int) -> None:
    """The checks `run` makes against a live cluster, made against the rendered one (the head runs no
    trials: num-cpus 0), plus the reverse: GPU pods for a study whose trials use no GPU."""
    from dl_drawbacks.cluster import check_fits
    from dl_drawbacks.errors import ClusterError
    from dl_drawbacks.plan import plan
    from dl_drawbacks.spec.load import load_spec

    trials = plan(load_spec(spec_path))
    shape = f"{workers} worker pod(s) x {cpus_per_worker} CPU" + (f", {gpus_per_worker} GPU" if gpus_per_worker else "")
    if gpus_per_worker and not any(t.trainer.use_gpu for t in trials):
        raise SpecError(f"--gpus-per-worker {gpus_per_worker}: no trial of {spec_path} uses a GPU (trainer.use_gpu), "
                        f"so the GPUs would sit idle; drop --gpus-per-worker or render a GPU spec")
    resources = {"CPU": float(workers * cpus_per_worker), "GPU": float(workers * gpus_per_worker)}
    hint = f"(rendered cluster: {shape}; change --workers/--cpus-per-worker/--gpus-per-worker)"
    try:
        check_fits(trials, resources, workers)
    except ClusterError as exc:
        raise SpecError(f"{exc} {hint}") from None
    for t in trials:  # one Ray Train worker is one bundle: it must fit inside one pod
        if t.trainer.cpus_per_worker > cpus_per_worker or (t.trainer.use_gpu and gpus_per_worker < 1):
            worker = f"{t.trainer.cpus_per_worker} CPU" + (" + 1 GPU" if t.trainer.use_gpu else "")
            raise SpecError(f"trial {t.trial_id}: a worker of {worker} does not fit in one pod {hint}")


def render_rayjob(spec_path: str, *, image: str | None = None, workers: int = 1, gpus_per_worker: int = 0,
                  cpus_per_worker: int = DEFAULT_CPUS_PER_WORKER, name: str | None = None, namespace: str | None = None,
                  ttl_seconds: int = DEFAULT_TTL_S, deadline_seconds: int = 86400, keep_cluster: bool = False,
                  backoff_limit: int = DEFAULT_BACKOFF_LIMIT, queue: str | None = None,
                  extra_args: list[str] = ()) -> dict:
    """A RayJob manifest (dict) that runs the study at `spec_path` on `workers` Ray worker pods.

    `image` defaults to dl-drawbacks:0.1.0, or its -gpu variant when gpus_per_worker > 0.
    `keep_cluster` keeps the RayCluster (and its GPUs) after the job ends, for debugging. `queue` names a
    Kueue LocalQueue (label kueue.x-k8s.io/queue-name): Kueue then admits the job when its quota allows.
    """
    if queue is not None and (len(queue) > LABEL_MAX or not DNS_1123.match(queue)):
        raise SpecError(f"--queue {queue!r} is not a Kueue LocalQueue name (lowercase letters, digits, '-')")
    if queue is not None and keep_cluster:
        raise SpecError("--queue with --keep-cluster: Kueue admits only RayJobs whose cluster shuts down when the "
                        "job finishes; drop one of them")
    _check(workers, gpus_per_worker, cpus_per_worker, ttl_seconds, deadline_seconds, namespace, backoff_limit)
    in_image = spec_in_image(spec_path)
    check_capacity(spec_path, workers=workers, cpus_per_worker=cpus_per_worker, gpus_per_worker=gpus_per_worker)
    if image is None:
        image = DEFAULT_IMAGE + (GPU_IMAGE_SUFFIX if gpus_per_worker else "")
    if not image.strip() or any(ch.isspace() for ch in image):
        raise SpecError(f"image {image!r} is not a container image reference")
    stem = Path(spec_path).stem
    name = job_name(stem, name)
    command = ["dl-drawbacks", "run", str(in_image), "--out", str(RUNS_DIR / name),
               "--address", "auto", "--resume", *extra_args]
    values = {"name": name, "study": dns_label(stem), "image": image, "entrypoint": shlex.join(command)}
    doc = _fill(yaml.safe_load(TEMPLATE.read_text()), values)
    spec = doc["spec"]
    spec.update(shutdownAfterJobFinishes=not keep_cluster, ttlSecondsAfterFinished=ttl_seconds,
                activeDeadlineSeconds=deadline_seconds, backoffLimit=backoff_limit)
    if keep_cluster:
        del spec["ttlSecondsAfterFinished"]  # KubeRay: a TTL needs shutdownAfterJobFinishes
    if namespace:
        doc["metadata"]["namespace"] = namespace
    if queue:
        doc["metadata"]["labels"][KUEUE_QUEUE_LABEL] = queue
    (group,) = spec["rayClusterSpec"]["workerGroupSpecs"]
    _size_workers(group, workers=workers, cpus=cpus_per_worker, gpus=gpus_per_worker)
    return doc


def to_yaml(doc: dict) -> str:
    """Block-style YAML in the manifest's own key order, one line per long string."""
    return yaml.safe_dump(copy.deepcopy(doc), sort_keys=False, default_flow_style=False, width=10_000)
