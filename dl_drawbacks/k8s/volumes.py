"""Where a rendered RayJob reads its spec and writes its run folder.

The spec is either baked into the image (`/app/studies/<path below studies/>`, the default) or carried
by a ConfigMap that `render` writes next to the RayJob (`--spec-from-configmap`): the head pod, where
a RayJob's driver runs, mounts it read-only at /etc/dl-drawbacks/spec, so a study can change without
rebuilding the image. The ConfigMap is immutable (a resubmission with --resume must run the spec the
run folder was started with; KubeRay's own samples mount ConfigMaps the same way).

The run folder is /mnt/runs/<name> on the ReadWriteMany volume (k8s/base/pvc.yaml), or an object-store
URI (`--out s3://bucket/prefix`): then every Ray pod reads the bucket's endpoint and credentials from the
Secret dl-drawbacks-bucket (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optional AWS_ENDPOINT_URL and
AWS_DEFAULT_REGION: what the run folder's S3 filesystem reads, storage/bucket.py) and /mnt/runs becomes
pod-local scratch, so the cluster needs no shared volume.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from dl_drawbacks.errors import SpecError
from dl_drawbacks.storage.files import URI  # the rule `run --out` follows

IMAGE_STUDIES_DIR = PurePosixPath("/app/studies")  # where k8s/Dockerfile copies studies/
RUNS_DIR = PurePosixPath("/mnt/runs")  # the ReadWriteMany volume (k8s/base/pvc.yaml)
SPEC_MOUNT = PurePosixPath("/etc/dl-drawbacks/spec")  # the spec ConfigMap, on the head pod
CONFIGMAP_MAX_BYTES = 1024 * 1024  # Kubernetes refuses ConfigMaps over 1 MiB
CONFIGMAP_KEY = re.compile(r"[^-._a-zA-Z0-9]+")  # characters a ConfigMap key cannot hold
BUCKET_SECRET = "dl-drawbacks-bucket"
BUCKET_ENV = {"AWS_ACCESS_KEY_ID": False, "AWS_SECRET_ACCESS_KEY": False,  # name: optional in the Secret
              "AWS_ENDPOINT_URL": True, "AWS_DEFAULT_REGION": True}


def spec_in_image(spec_path: str) -> PurePosixPath:
    """Where the spec lives inside the image: /app/studies/<path below the local studies/ folder>."""
    path = _yaml_file(spec_path)
    parts = path.resolve().parts
    if "studies" not in parts:
        raise SpecError(f"spec {spec_path!r} is not under a studies/ folder, so it is not in the "
                        "image; copy it into studies/ and rebuild the image, or pass --spec-from-configmap "
                        "(k8s/README.md)")
    below = parts[len(parts) - parts[::-1].index("studies"):]
    return IMAGE_STUDIES_DIR.joinpath(*below)


def _yaml_file(spec_path: str) -> Path:
    path = Path(spec_path)
    if path.suffix not in (".yaml", ".yml"):
        raise SpecError(f"spec {spec_path!r} is not a .yaml file; pass a study such as studies/compute.yaml")
    if not path.is_file():
        raise SpecError(f"spec {spec_path!r} not found; pass a study such as studies/compute.yaml")
    return path


def spec_configmap(spec_path: str, name: str, labels: dict[str, str]) -> tuple[dict, PurePosixPath]:
    """The ConfigMap `<name>-spec` holding the spec file's text, and the path the head pod sees it at."""
    path = _yaml_file(spec_path)
    data = path.read_bytes()
    if len(data) > CONFIGMAP_MAX_BYTES:
        raise SpecError(f"spec {spec_path!r} is {len(data)} bytes; a ConfigMap holds at most {CONFIGMAP_MAX_BYTES}: "
                        f"bake it into the image instead (drop --spec-from-configmap)")
    key = CONFIGMAP_KEY.sub("-", path.name)
    configmap = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": f"{name}-spec", "labels": {**labels, "app.kubernetes.io/component": "study-spec"}},
        "immutable": True,
        "data": {key: data.decode("utf-8")},
    }
    return configmap, SPEC_MOUNT / key


def mount_spec(head_pod: dict, configmap: dict) -> None:
    """Mount the spec ConfigMap read-only into the head pod's Ray container."""
    head_pod["volumes"].append({"name": "spec", "configMap": {"name": configmap["metadata"]["name"]}})
    head_pod["containers"][0]["volumeMounts"].append({"name": "spec", "mountPath": str(SPEC_MOUNT), "readOnly": True})


def run_folder(out: str | None, name: str) -> str:
    """The run folder the entrypoint writes: /mnt/runs/<name> by default, an object-store URI, or a folder
    under /mnt/runs (anything else would be pod-local and vanish with the cluster)."""
    if out is None:
        return str(RUNS_DIR / name)
    if URI.match(out):
        if any(ch.isspace() for ch in out) or URI.fullmatch(out):
            raise SpecError(f"--out {out!r}: an object-store URI names a bucket and a prefix, without spaces "
                            f"(s3://bucket/prefix)")
        return out
    path = PurePosixPath(out)
    if not path.is_absolute() or RUNS_DIR not in path.parents:
        raise SpecError(f"--out {out!r}: give an object-store URI (s3://bucket/prefix) or a folder under {RUNS_DIR} "
                        f"(the shared volume); any other folder is inside a pod and is deleted with the cluster")
    return str(path)


def use_bucket(pods: list[dict]) -> None:
    """Every Ray pod reads the bucket's credentials from the Secret; /mnt/runs becomes pod-local scratch."""
    env = [{"name": var, "valueFrom": {"secretKeyRef": {"name": BUCKET_SECRET, "key": var, "optional": optional}}}
           for var, optional in BUCKET_ENV.items()]
    for pod in pods:
        pod["containers"][0]["env"].extend(env)
        for volume in pod["volumes"]:
            if volume["name"] == "runs":
                volume.pop("persistentVolumeClaim")
                volume["emptyDir"] = {}
