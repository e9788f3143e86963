"""Offline validation of Kubernetes manifests against the KubeRay CRDs and the operator's own rules.

The API server fills schema defaults and rejects unknown fields before the KubeRay operator checks
rules its CRD schema cannot express (ray-project/kuberay, ray-operator/pkg/webhooks and
controllers/ray/utils/validation.go). This module does the same three passes on a plain dict, so
tests and `dl-drawbacks k8s validate` catch a bad manifest without a cluster (among the operator's rules:
replica bounds, token auth needs Ray >= 2.52, and the autoscaler v2 switch: `autoscalerOptions.version` or
the head's RAY_enable_autoscaler_v2, not both, and restartPolicy Never under v2). The CRDs ship in the
package (crds/, Apache-2.0, see crds/NOTICE.md). Core kinds (PersistentVolumeClaim, Secret,
ServiceAccount, ...) are checked strictly (unknown fields refused) against the Kubernetes OpenAPI
schemas bundled in the `kubernetes-validate` package; a document neither can check is "skipped".
"""

from __future__ import annotations

import copy
import functools
import os
import re
from pathlib import Path

import jsonschema
import yaml

from dl_drawbacks.errors import SpecError

CRD_FILES = {
    "RayCluster": "ray.io_rayclusters.yaml",
    "RayJob": "ray.io_rayjobs.yaml",
    "RayService": "ray.io_rayservices.yaml",
}
RAYJOB_NAME_MAX = 47  # the RayJob name prefixes the RayCluster and submitter Job names
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
TOKEN_AUTH_MIN_RAY = (2, 52)
AUTOSCALER_V2_ENV = "RAY_enable_autoscaler_v2"
MAX_MESSAGE = 240


PACKAGED_CRDS = Path(__file__).with_name("crds")


def default_crd_dir() -> Path:
    """$DL_DRAWBACKS_CRD_DIR, else the CRDs shipped in this package (crds/)."""
    env = os.environ.get("DL_DRAWBACKS_CRD_DIR")
    return Path(env) if env else PACKAGED_CRDS


@functools.lru_cache(maxsize=8)
def _raw_schema(kind: str, crd_dir: str) -> dict:
    if kind not in CRD_FILES:
        raise SpecError(f"unknown KubeRay kind {kind!r}; expected one of {sorted(CRD_FILES)}")
    path = Path(crd_dir) / CRD_FILES[kind]
    if not path.is_file():
        raise SpecError(f"KubeRay CRD {path} not found; set DL_DRAWBACKS_CRD_DIR to the CRD folder")
    # libyaml's loader where PyYAML has it: the 1.4 MB RayJob CRD in 0.5 s of CPU instead of 2.6
    crd = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    for version in crd["spec"]["versions"]:
        if version["name"] == "v1":
            return version["schema"]["openAPIV3Schema"]
    raise SpecError(f"{path} has no v1 version")


def load_crd_schema(kind: str, crd_dir: Path | None = None) -> dict:
    """The v1 openAPIV3Schema of a KubeRay kind ("RayCluster", "RayJob", "RayService")."""
    return copy.deepcopy(_raw_schema(kind, str(crd_dir or default_crd_dir())))


def _close_objects(schema: dict) -> None:
    """Forbid unknown fields like the API server does: additionalProperties false on open objects."""
    if "properties" in schema and "additionalProperties" not in schema:
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema["additionalProperties"] = False
    for sub in schema.get("properties", {}).values():
        _close_objects(sub)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _close_objects(schema[key])
    for key in ("anyOf", "allOf", "oneOf"):
        for sub in schema.get(key, []):
            _close_objects(sub)


@functools.lru_cache(maxsize=8)
def _strict_validator(kind: str, crd_dir: str) -> jsonschema.Draft7Validator:
    schema = copy.deepcopy(_raw_schema(kind, crd_dir))
    _close_objects(schema)
    return jsonschema.Draft7Validator(schema)


def apply_defaults(schema: dict, instance: object) -> None:
    """Fill missing properties that have a schema `default`, recursively, in place."""
    if isinstance(instance, dict):
        props = schema.get("properties", {})
        for name, sub in props.items():
            if name not in instance and "default" in sub:
                instance[name] = copy.deepcopy(sub["default"])
            if name in instance:
                apply_defaults(sub, instance[name])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for name, value in instance.items():
                if name not in props:
                    apply_defaults(extra, value)
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for item in instance:
            apply_defaults(schema["items"], item)


def _path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def _message(error: jsonschema.ValidationError) -> str:
    text = error.message
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _structural(doc: dict) -> list[str]:
    errors = [f"{key}: required" for key in ("apiVersion", "kind") if not doc.get(key)]
    if doc.get("kind") == "Kustomization":
        resources = doc.get("resources", [])
        if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
            errors.append("resources: must be a list of paths")
        return errors
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict) or not metadata.get("name"):
        errors.append("metadata.name: required")
    return errors


def _ray_version(text: object) -> tuple[int, int] | None:
    match = re.match(r"^v?(\d+)\.(\d+)", str(text or ""))
    return (int(match[1]), int(match[2])) if match else None


def cluster_rules(spec: dict, at: str) -> list[str]:
    """Operator rules on a RayCluster spec (also embedded in RayJob and RayService)."""
    errors = []
    for i, group in enumerate(spec.get("workerGroupSpecs") or []):
        where = f"{at}.workerGroupSpecs[{i}]"
        low, high = group.get("minReplicas", 0), group.get("maxReplicas", 2147483647)
        if low > high:
            errors.append(f"{where}: minReplicas {low} is greater than maxReplicas {high}")
        replicas = group.get("replicas")
        if replicas is not None and not low <= replicas <= high:
            errors.append(f"{where}.replicas: {replicas} is outside [minReplicas {low}, maxReplicas {high}]")
    errors += autoscaler_rules(spec, at)
    if (spec.get("authOptions") or {}).get("mode") == "token":
        version = _ray_version(spec.get("rayVersion"))
        if version is None or version < TOKEN_AUTH_MIN_RAY:
            errors.append(f"{at}.authOptions.mode: token authentication needs rayVersion >= 2.52, "
                          f"got {spec.get('rayVersion')!r}")
    return errors


def _pod(group: dict) -> dict:
    return (group.get("template") or {}).get("spec") or {}


def autoscaler_rules(spec: dict, at: str) -> list[str]:
    """KubeRay's autoscaler rules (ValidateRayClusterSpec): the v2 switch is `autoscalerOptions.version` or the
    head's RAY_enable_autoscaler_v2, never both, and never v2 without the autoscaler; v2 pods restart Never."""
    head = spec.get("headGroupSpec") or {}
    containers = _pod(head).get("containers") or [{}]
    env = {e.get("name"): e.get("value") for e in containers[0].get("env") or []}
    options = spec.get("autoscalerOptions") or {}
    enabled = bool(spec.get("enableInTreeAutoscaling"))
    where = f"{at}.headGroupSpec.template.spec.containers[0].env"
    if not enabled and str(env.get(AUTOSCALER_V2_ENV)).lower() in ("1", "true"):
        return [f"{where}: {AUTOSCALER_V2_ENV} needs enableInTreeAutoscaling: true"]
    if not enabled:
        return []
    if "version" in options and AUTOSCALER_V2_ENV in env:
        return [f"{where}: {AUTOSCALER_V2_ENV} and {at}.autoscalerOptions.version are both set; keep only the version"]
    v2 = options.get("version") == "v2" or str(env.get(AUTOSCALER_V2_ENV)).lower() in ("1", "true")
    errors = []
    if options.get("idleTimeoutSeconds", 0) < 0:
        errors.append(f"{at}.autoscalerOptions.idleTimeoutSeconds: must be >= 0")
    groups = [("headGroupSpec", head)] + [(f"workerGroupSpecs[{i}]", g) for i, g in
                                          enumerate(spec.get("workerGroupSpecs") or [])]
    for name, group in groups if v2 else ():
        policy = _pod(group).get("restartPolicy")
        if policy not in (None, "", "Never"):
            errors.append(f"{at}.{name}.template.spec.restartPolicy: {policy!r}; autoscaler v2 needs Never (or unset)")
    return errors


def rayjob_rules(doc: dict) -> list[str]:
    """Operator rules on a RayJob: name, TTL vs shutdown, exactly one cluster source."""
    errors = []
    name = (doc.get("metadata") or {}).get("name") or ""
    if len(name) > RAYJOB_NAME_MAX or not DNS_1035.match(name):
        errors.append(f"metadata.name: {name!r} must be a DNS-1035 label (lowercase letters, digits, "
                      f"'-', starting with a letter) of at most {RAYJOB_NAME_MAX} characters")
    spec = doc.get("spec") or {}
    if spec.get("ttlSecondsAfterFinished", 0) > 0 and not spec.get("shutdownAfterJobFinishes"):
        errors.append("spec.ttlSecondsAfterFinished: a TTL > 0 needs spec.shutdownAfterJobFinishes: true")
    has_spec, has_selector = bool(spec.get("rayClusterSpec")), bool(spec.get("clusterSelector"))
    if has_spec == has_selector:
        errors.append("spec: set exactly one of rayClusterSpec and clusterSelector")
    if has_spec:
        errors += cluster_rules(spec["rayClusterSpec"], "spec.rayClusterSpec")
    return errors


def validate_manifest(doc: dict, crd_dir: Path | None = None) -> list[str]:
    """[] when `doc` is valid; else one human-readable error per problem, each with its JSON path."""
    if not isinstance(doc, dict):
        return [f"<root>: expected a mapping, got {type(doc).__name__}"]
    errors = _structural(doc)
    group = str(doc.get("apiVersion", "")).split("/")[0]
    if errors or doc.get("kind") == "Kustomization":
        return errors
    if group != "ray.io":
        return core_check(doc)[0]
    if doc["apiVersion"] != "ray.io/v1":
        return [f"apiVersion: {doc['apiVersion']!r} is not served here; use ray.io/v1"]
    kind = doc["kind"]
    if kind not in CRD_FILES:
        return [f"kind: unknown ray.io kind {kind!r}; expected one of {sorted(CRD_FILES)}"]
    crd = str(crd_dir or default_crd_dir())
    filled = copy.deepcopy(doc)
    apply_defaults(_raw_schema(kind, crd), filled)
    found = sorted(_strict_validator(kind, crd).iter_errors(filled), key=lambda e: _path(e.absolute_path))
    errors = [f"{_path(e.absolute_path)}: {_message(e)}" for e in found]
    if errors:
        return errors
    spec = filled.get("spec") or {}
    if kind == "RayJob":
        return rayjob_rules(filled)
    if kind == "RayService":
        return cluster_rules(spec.get("rayClusterConfig") or {}, "spec.rayClusterConfig")
    return cluster_rules(spec, "spec")


def core_check(doc: dict) -> tuple[list[str], str | None]:
    """(errors, None) for a kind the bundled Kubernetes schemas know (strict: unknown fields are errors),
    or ([], reason) when there is no schema to check it against."""
    try:
        import kubernetes_validate
    except ImportError:
        return [], "kubernetes-validate is not installed (pip install kubernetes-validate)"
    version = kubernetes_validate.latest_version()
    try:
        kubernetes_validate.validate(copy.deepcopy(doc), version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [], (f"no schema for {doc.get('apiVersion')}/{doc.get('kind')} in Kubernetes {version}'s "
                    f"(kubernetes-validate)")
    except kubernetes_validate.ValidationError as exc:
        return [f"{_path(exc.absolute_path)}: {_message(exc)}"], None
    return [], None


def check_manifest(doc: object, crd_dir: Path | None = None) -> tuple[str, list[str]]:
    """("ok", []), ("invalid", errors) or ("skipped", [why]): never "ok" for a document nothing checked."""
    errors = validate_manifest(doc, crd_dir)
    if errors:
        return "invalid", errors
    if doc.get("kind") == "Kustomization":
        return "skipped", ["a kustomize file, not an API object: validate what it builds "
                           "(`kubectl kustomize DIR > built.yaml`, then validate built.yaml)"]
    if str(doc.get("apiVersion", "")).split("/")[0] != "ray.io":
        reason = core_check(doc)[1]
        if reason:
            return "skipped", [reason]
    return "ok", []
