"""Render a KubeRay RayJob that runs one study on its own, short-lived Ray cluster.

The RayJob starts a RayCluster from the packaged template (templates/rayjob.yaml, a copy of
k8s/jobs/rayjob.yaml with ${...} placeholders), runs
`dl-drawbacks run <spec> --out <run folder> --address auto --resume` on it (a retry after a lost pod,
up to `backoffLimit`, or a resubmission finishes the run instead of being refused; on an empty folder
--resume is a fresh run), and deletes the cluster `ttl_seconds` (default 60) after the job ends so its
pods release their GPUs, unless `keep_cluster`. The spec is the image's copy (/app/studies/...) or a
ConfigMap rendered with the RayJob; the run folder is on the shared volume or an object-store URI
(volumes.py). Before anything is rendered the study's planned trials are checked against the rendered
cluster's shape, as `run` checks them against a live cluster (cluster.check_fits), and GPU pods for a
study that uses none are refused. Secrets are only referenced (secretKeyRef), never copied into the manifest.
"""

from __future__ import annotations

import copy
import re
import secrets
import string
from pathlib import Path

import yaml

from dl_drawbacks.errors import SpecError
from dl_drawbacks.job_entrypoint import as_job_process
from dl_drawbacks.k8s import volumes

TEMPLATE = Path(__file__).with_name("templates") / "rayjob.yaml"
DEFAULT_IMAGE = "dl-drawbacks:0.1.0"
GPU_IMAGE_SUFFIX = "-gpu"
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


def render_manifests(spec_path: str, *, image: str | None = None, workers: int = 1, gpus_per_worker: int = 0,
                     cpus_per_worker: int = DEFAULT_CPUS_PER_WORKER, name: str | None = None,
                     namespace: str | None = None, ttl_seconds: int = DEFAULT_TTL_S, deadline_seconds: int = 86400,
                     keep_cluster: bool = False, backoff_limit: int = DEFAULT_BACKOFF_LIMIT, queue: str | None = None,
                     out: str | None = None, spec_from_configmap: bool = False,
                     extra_args: list[str] = ()) -> list[dict]:
    """The manifests that run the study at `spec_path` on `workers` Ray worker pods: the RayJob, preceded by
    the ConfigMap holding the spec when `spec_from_configmap` (else the RayJob runs the image's copy).

    `image` defaults to dl-drawbacks:0.1.0, or its -gpu variant when gpus_per_worker > 0. `out` is the run
    folder (default /mnt/runs/<name>; an s3://... URI makes the pods read the bucket Secret).
    `keep_cluster` keeps the RayCluster (and its GPUs) after the job ends, for debugging. `queue` names a
    Kueue LocalQueue (label kueue.x-k8s.io/queue-name): Kueue then admits the job when its quota allows.
    """
    if queue is not None and (len(queue) > LABEL_MAX or not DNS_1123.match(queue)):
        raise SpecError(f"--queue {queue!r} is not a Kueue LocalQueue name (lowercase letters, digits, '-')")
    if queue is not None and keep_cluster:
        raise SpecError("--queue with --keep-cluster: Kueue admits only RayJobs whose cluster shuts down when the "
                        "job finishes; drop one of them")
    _check(workers, gpus_per_worker, cpus_per_worker, ttl_seconds, deadline_seconds, namespace, backoff_limit)
    in_image = None if spec_from_configmap else volumes.spec_in_image(spec_path)
    check_capacity(spec_path, workers=workers, cpus_per_worker=cpus_per_worker, gpus_per_worker=gpus_per_worker)
    if image is None:
        image = DEFAULT_IMAGE + (GPU_IMAGE_SUFFIX if gpus_per_worker else "")
    if not image.strip() or any(ch.isspace() for ch in image):
        raise SpecError(f"image {image!r} is not a container image reference")
    stem = Path(spec_path).stem
    name = job_name(stem, name)
    folder = volumes.run_folder(out, name)
    labels = {"app.kubernetes.io/name": "dl-drawbacks", "dl-drawbacks/study": dns_label(stem)}
    configmap, spec_file = volumes.spec_configmap(spec_path, name, labels) if spec_from_configmap else (None, in_image)
    command = ["dl-drawbacks", "run", str(spec_file), "--out", folder, "--address", "auto", "--resume", *extra_args]
    values = {"name": name, "study": dns_label(stem), "image": image, "entrypoint": as_job_process(command)}
    doc = _fill(yaml.safe_load(TEMPLATE.read_text()), values)
    spec = doc["spec"]
    spec.update(shutdownAfterJobFinishes=not keep_cluster, ttlSecondsAfterFinished=ttl_seconds,
                activeDeadlineSeconds=deadline_seconds, backoffLimit=backoff_limit)
    if keep_cluster:
        del spec["ttlSecondsAfterFinished"]  # KubeRay: a TTL needs shutdownAfterJobFinishes
    if queue:
        doc["metadata"]["labels"][KUEUE_QUEUE_LABEL] = queue
    cluster = spec["rayClusterSpec"]
    (group,) = cluster["workerGroupSpecs"]
    _size_workers(group, workers=workers, cpus=cpus_per_worker, gpus=gpus_per_worker)
    head_pod = cluster["headGroupSpec"]["template"]["spec"]
    if volumes.URI.match(folder):
        volumes.use_bucket([head_pod, group["template"]["spec"]])
    docs = [doc]
    if configmap is not None:
        volumes.mount_spec(head_pod, configmap)
        docs.insert(0, configmap)
    for manifest in docs if namespace else ():
        manifest["metadata"]["namespace"] = namespace
    return docs


def render_rayjob(spec_path: str, **options) -> dict:
    """The RayJob of `render_manifests` (options as there)."""
    return render_manifests(spec_path, **options)[-1]


def to_yaml(doc: dict | list[dict]) -> str:
    """Block-style YAML in the manifest's own key order, one line per long string; a list of manifests
    becomes one multi-document file."""
    docs = copy.deepcopy(doc if isinstance(doc, list) else [doc])
    return yaml.dump_all(docs, Dumper=_BlockDumper, sort_keys=False, default_flow_style=False, width=10_000)


class _BlockDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings (a spec in a ConfigMap) as literal blocks, readable as the file."""


def _str(dumper: yaml.SafeDumper, text: str):
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_BlockDumper.add_representer(str, _str)
