"""Every manifest under k8s/ (base, overlays with their patches applied, the RayJob example, the
Secret template) validates against the KubeRay CRDs, and the validator catches what the API server
and the KubeRay operator would reject. Kustomize is not installed here, so `build` below applies
the overlays' JSON6902 patches itself and refuses any kustomization feature it does not implement.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import jsonschema
import pytest
import yaml

from dl_drawbacks.errors import SpecError
from dl_drawbacks.k8s.cli import register
from dl_drawbacks.k8s.validate import PACKAGED_CRDS, check_manifest, default_crd_dir, load_crd_schema, validate_manifest

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
KUSTOMIZE_KEYS = {"apiVersion", "kind", "resources", "patches"}


def load_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def _pointer(path: str) -> list[str]:
    assert path.startswith("/"), path
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json_patch(doc: dict, ops: list[dict]) -> dict:
    """RFC 6902 add/remove/replace/test, enough for the overlays (kustomize applies the same)."""
    doc = copy.deepcopy(doc)
    for op in ops:
        *parents, last = _pointer(op["path"])
        node = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        index = (len(node) if last == "-" else int(last)) if isinstance(node, list) else last
        if op["op"] == "test":
            assert node[index] == op["value"], f"patch test failed at {op['path']}"
        elif op["op"] == "remove":
            del node[index]
        elif op["op"] == "replace":
            assert index in node if isinstance(node, dict) else index < len(node), op["path"]
            node[index] = op["value"]
        elif op["op"] == "add" and isinstance(node, list):
            node.insert(index, op["value"])
        elif op["op"] == "add":
            node[index] = op["value"]
        else:
            raise AssertionError(f"unsupported patch op {op['op']}")
    return doc


def _matches(doc: dict, target: dict) -> bool:
    group, _, version = doc["apiVersion"].rpartition("/")
    wanted = {"group": group, "version": version, "kind": doc["kind"], "name": doc["metadata"]["name"]}
    return all(wanted[key] == value for key, value in target.items())


def build(folder: Path) -> list[dict]:
    """A minimal `kustomize build`: resources (files or folders) then targeted JSON6902 patches."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    assert set(kustomization) <= KUSTOMIZE_KEYS, f"{folder}: unsupported keys {set(kustomization) - KUSTOMIZE_KEYS}"
    docs = []
    for resource in kustomization["resources"]:
        path = (folder / resource).resolve()
        docs += build(path) if path.is_dir() else load_docs(path)
    for patch in kustomization.get("patches", []):
        hits = [i for i, doc in enumerate(docs) if _matches(doc, patch["target"])]
        assert len(hits) == 1, f"{folder}: patch target {patch['target']} matched {len(hits)} documents"
        docs[hits[0]] = json_patch(docs[hits[0]], yaml.safe_load(patch["patch"]))
    return docs


def walk(node):
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from walk(child)


def ray_pods(doc: dict) -> list[dict]:
    """Head and worker pod specs of a RayCluster or of a RayJob's cluster."""
    cluster = doc["spec"].get("rayClusterSpec", doc["spec"])
    return [cluster["headGroupSpec"]["template"]["spec"]] + [
        g["template"]["spec"] for g in cluster.get("workerGroupSpecs", [])]


def pod_specs(doc: dict) -> list[dict]:
    """Every pod spec, the RayJob submitter's included."""
    submitter = doc["spec"].get("submitterPodTemplate")
    return ray_pods(doc) + ([submitter["spec"]] if submitter else [])


YAML_FILES = sorted(p for p in K8S.rglob("*") if p.suffix in (".yaml", ".yml"))
BUILDS = ["base", "overlays/cpu", "overlays/gpu"]


def all_built() -> list[dict]:
    return [doc for b in BUILDS for doc in build(K8S / b)] + load_docs(K8S / "jobs" / "rayjob.yaml")


def ray_docs() -> list[dict]:
    return [d for d in all_built() if d["apiVersion"].startswith("ray.io/")]


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(K8S)))
def test_every_yaml_document_in_k8s_validates(path):
    docs = load_docs(path)
    assert docs, f"{path} is empty"
    for doc in docs:
        assert validate_manifest(doc) == [], path


@pytest.mark.parametrize("folder", BUILDS)
def test_kustomize_builds_validate(folder):
    docs = build(K8S / folder)
    assert sorted(d["kind"] for d in docs) == ["PersistentVolumeClaim", "RayCluster"]
    for doc in docs:
        assert validate_manifest(doc) == [], (folder, doc["kind"])


def test_base_cluster_has_autoscaled_cpu_and_gpu_groups():
    (cluster,) = [d for d in build(K8S / "base") if d["kind"] == "RayCluster"]
    spec = cluster["spec"]
    assert spec["rayVersion"] == "2.60.0" and spec["enableInTreeAutoscaling"] is True
    assert spec["authOptions"] == {"mode": "token"}
    groups = {g["groupName"]: g for g in spec["workerGroupSpecs"]}
    assert set(groups) == {"cpu-workers", "gpu-workers"}
    for group in groups.values():
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
    gpu_pod = groups["gpu-workers"]["template"]["spec"]
    resources = gpu_pod["containers"][0]["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == resources["requests"]["nvidia.com/gpu"] == 1
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in gpu_pod["tolerations"]
    assert "nvidia.com/gpu" not in str(groups["cpu-workers"])


def test_overlays_differ_as_documented():
    cpu = next(d for d in build(K8S / "overlays/cpu") if d["kind"] == "RayCluster")
    gpu = next(d for d in build(K8S / "overlays/gpu") if d["kind"] == "RayCluster")
    assert [g["groupName"] for g in cpu["spec"]["workerGroupSpecs"]] == ["cpu-workers"]
    assert "nvidia.com/gpu" not in json.dumps(cpu) and "-gpu" not in json.dumps(cpu)
    assert [g["groupName"] for g in gpu["spec"]["workerGroupSpecs"]] == ["cpu-workers", "gpu-workers"]
    images = {c["image"] for pod in pod_specs(gpu) for c in pod["containers"]}
    assert images == {"dl-drawbacks:0.1.0-gpu"}


def test_every_container_is_sized_and_locked_down():
    for doc in ray_docs():
        for pod in pod_specs(doc):
            assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 1000
            for container in pod["containers"]:
                where = f"{doc['kind']}/{doc['metadata']['name']}/{container['name']}"
                for kind in ("requests", "limits"):
                    assert {"cpu", "memory"} <= set(container["resources"][kind]), where
                context = container["securityContext"]
                assert context["allowPrivilegeEscalation"] is False, where
                assert context["runAsNonRoot"] is True and context["runAsUser"] == 1000, where
        autoscaler = doc["spec"].get("autoscalerOptions")
        if doc["spec"].get("enableInTreeAutoscaling"):
            assert {"requests", "limits"} <= set(autoscaler["resources"])
            assert autoscaler["securityContext"]["allowPrivilegeEscalation"] is False


def test_nothing_is_exposed_outside_the_cluster():
    for path in YAML_FILES:
        text = path.read_text()
        assert "LoadBalancer" not in text and "NodePort" not in text, path
        for doc in load_docs(path):
            assert doc["kind"] not in ("Ingress", "Route", "Service"), path
    for doc in ray_docs():
        spec = doc["spec"].get("rayClusterSpec", doc["spec"])
        assert spec["headGroupSpec"]["serviceType"] == "ClusterIP"
        assert not spec["headGroupSpec"].get("enableIngress")
        assert spec["authOptions"]["mode"] == "token"


def test_ray_pods_mount_run_storage_and_read_the_wandb_key_from_the_secret():
    (pvc,) = [d for d in build(K8S / "base") if d["kind"] == "PersistentVolumeClaim"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    (secret,) = load_docs(K8S / "wandb-secret.template.yaml")
    secret_key = next(iter(secret["stringData"]))
    for doc in ray_docs():
        for pod in ray_pods(doc):
            claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]
                      if "persistentVolumeClaim" in v}
            container = pod["containers"][0]
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert claims[mounts["/mnt/runs"]] == pvc["metadata"]["name"]
            env = {e["name"]: e for e in container["env"]}
            assert env["WANDB_DIR"]["value"] == "/mnt/runs/wandb"
            assert env["WANDB_DATA_DIR"]["value"] == "/mnt/runs/wandb-data"
            ref = env["WANDB_API_KEY"]["valueFrom"]["secretKeyRef"]
            assert (ref["name"], ref["key"]) == (secret["metadata"]["name"], secret_key)
            assert "value" not in env["WANDB_API_KEY"]


def test_secret_template_holds_no_value_and_is_never_applied():
    text = (K8S / "wandb-secret.template.yaml").read_text()
    (secret,) = load_docs(K8S / "wandb-secret.template.yaml")
    assert secret["kind"] == "Secret" and "placeholder" in text.lower()
    values = {**secret.get("data", {}), **secret.get("stringData", {})}
    assert values and all(v in ("", None) for v in values.values())
    for doc in all_built():
        assert doc["kind"] != "Secret"


@pytest.mark.parametrize("kind, where, field", [
    ("RayJob", ["spec"], "shutdownAfterJobFinish"),
    ("RayCluster", ["spec"], "enableInTreeAutoscalling"),
    ("RayCluster", ["spec", "headGroupSpec", "template", "spec", "containers", 0], "imagePullPolicyy"),
    ("RayCluster", ["spec", "workerGroupSpecs", 0], "minReplica"),
])
def test_misspelled_field_fails(kind, where, field):
    doc = next(d for d in ray_docs() if d["kind"] == kind)
    node = doc
    for key in where:
        node = node[key]
    node[field] = True
    errors = validate_manifest(doc)
    assert any(field in e and "Additional properties" in e for e in errors), errors


def _job():
    return load_docs(K8S / "jobs" / "rayjob.yaml")[0]


def _set(doc, dotted, value):
    *parents, last = dotted.split(".")
    node = doc
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return doc


GROUP = "spec.rayClusterSpec.workerGroupSpecs.0"
RULES = {
    "name too long": ("metadata.name", "a" * 48, "metadata.name"),
    "name not DNS-1035": ("metadata.name", "Compute_Study", "metadata.name"),
    "name starts with digit": ("metadata.name", "1compute", "metadata.name"),
    "ttl without shutdown": ("spec.shutdownAfterJobFinishes", False, "ttlSecondsAfterFinished"),
    "both cluster sources": ("spec.clusterSelector", {"ray.io/cluster": "dl-drawbacks"}, "exactly one"),
    "no cluster source": ("spec.rayClusterSpec", None, "exactly one"),
    "min above max": (f"{GROUP}.minReplicas", 2, "minReplicas 2 is greater than maxReplicas 1"),
    "replicas above max": (f"{GROUP}.replicas", 3, "outside"),
    "token auth on old ray": ("spec.rayClusterSpec.rayVersion", "2.51.0", "rayVersion >= 2.52"),
    "token auth without version": ("spec.rayClusterSpec.rayVersion", None, "rayVersion >= 2.52"),
}


@pytest.mark.parametrize("rule", RULES)
def test_each_operator_rule_has_a_failing_example(rule):
    dotted, value, expected = RULES[rule]
    doc = _job()
    assert validate_manifest(doc) == []
    errors = validate_manifest(_set(doc, dotted, value))
    assert any(expected in e for e in errors), errors


def test_raycluster_bounds_are_checked_after_defaults():
    cluster = next(d for d in ray_docs() if d["kind"] == "RayCluster")
    group = cluster["spec"]["workerGroupSpecs"][0]
    del group["minReplicas"], group["maxReplicas"]
    assert validate_manifest(cluster) == []  # the API server fills 0 and 2**31-1
    group["maxReplicas"], group["replicas"] = 0, 1  # one pod asked for, none allowed
    assert any("workerGroupSpecs[0]" in e for e in validate_manifest(cluster))
    del group["groupName"]
    assert any("'groupName' is a required property" in e for e in validate_manifest(cluster))


def test_wrong_types_apiversion_and_kinds_are_reported_with_paths():
    doc = _job()
    doc["spec"]["ttlSecondsAfterFinished"] = "an hour"
    assert validate_manifest(doc) == ["spec.ttlSecondsAfterFinished: 'an hour' is not of type 'integer'"]
    assert "ray.io/v1" in validate_manifest({**_job(), "apiVersion": "ray.io/v1alpha1"})[0]
    assert "unknown ray.io kind" in validate_manifest({**_job(), "kind": "RayCronTab"})[0]
    assert validate_manifest({"apiVersion": "v1", "kind": "Secret", "metadata": {}}) == ["metadata.name: required"]
    assert validate_manifest({"kind": "ServiceAccount", "metadata": {"name": "x"}}) == ["apiVersion: required"]
    bad = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": "base"}
    assert validate_manifest(bad) == ["resources: must be a list of paths"]
    assert validate_manifest(["not", "a", "mapping"])[0].startswith("<root>")


def test_load_crd_schema(monkeypatch, tmp_path):
    for kind in ("RayCluster", "RayJob", "RayService"):
        assert "spec" in load_crd_schema(kind)["properties"]
    schema = load_crd_schema("RayJob")
    schema["properties"].clear()  # a copy: the cached schema is untouched
    assert "spec" in load_crd_schema("RayJob")["properties"]
    with pytest.raises(SpecError, match="unknown KubeRay kind"):
        load_crd_schema("Pod")
    monkeypatch.setenv("DL_DRAWBACKS_CRD_DIR", str(tmp_path))
    with pytest.raises(SpecError, match="DL_DRAWBACKS_CRD_DIR"):
        load_crd_schema("RayJob")


def test_validate_cli_reports_errors_and_exit_status(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    bad = _job()
    bad["spec"]["shutdownAfterJobFinish"] = True
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump_all([_job(), bad]))
    args = parser.parse_args(["k8s", "validate", str(K8S / "base" / "raycluster.yaml"), str(tmp_path / "bad.yaml")])
    assert args.func(args) == 1
    out = capsys.readouterr().out
    assert "bad.yaml#1: spec: Additional properties" in out and "raycluster.yaml" not in out
    args = parser.parse_args(["k8s", "validate", *map(str, YAML_FILES)])
    assert args.func(args) == 0


def test_dockerfile_builds_on_ray_260_and_copies_studies_where_render_expects_them():
    text = (K8S / "Dockerfile").read_text()
    assert "ARG RAY_IMAGE=rayproject/ray:2.60.0-py311\n" in text and "FROM ${RAY_IMAGE}" in text
    assert "COPY --chown=1000:100 studies ./studies" in text and "WORKDIR /app" in text
    assert "USER 1000" in text


def test_dockerfile_prebuilds_the_deepspeed_op_a_cpu_run_would_compile():
    text = (K8S / "Dockerfile").read_text()
    assert 'ARG DS_BUILD_OPS="DS_BUILD_SHM_COMM=1"' in text and "--no-build-isolation --no-binary deepspeed" in text
    assert "installed_ops" in text and "g++" in text  # the build fails when the op was not built into the install
    import importlib.util  # the installed DeepSpeed's own switch and op name, read without importing DeepSpeed

    builder = Path(importlib.util.find_spec("deepspeed").submodule_search_locations[0]) / "ops/op_builder/cpu/comm.py"
    assert 'BUILD_VAR = "DS_BUILD_SHM_COMM"' in builder.read_text() and 'NAME = "deepspeed_shm_comm"' in builder.read_text()


# cluster/ (VMs and one-machine clusters) is checked here too: it is the non-Kubernetes deployment.
def test_cluster_launcher_config_passes_rays_own_checks():
    import ray.autoscaler
    from ray.autoscaler._private.util import prepare_config, validate_config

    schema = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())
    config = yaml.safe_load((ROOT / "cluster" / "ray-cluster.yaml").read_text())
    jsonschema.validate(config, schema)
    validate_config(prepare_config(config))  # what `ray up` runs first
    assert config["provider"]["type"] == "local"
    assert config["provider"]["head_ip"] and config["provider"]["worker_ips"]
    assert any("pip install" in c for c in config["setup_commands"])


def test_local_multinode_script_parses_and_never_runs_ray_stop():
    script = ROOT / "cluster" / "local-multinode.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    code = [line for line in script.read_text().splitlines() if not line.lstrip().startswith("#")]
    assert not any("ray stop" in line for line in code)


@pytest.mark.slow
def test_local_multinode_cluster_starts_and_stops_exactly_its_own_sessions():
    script, port = str(ROOT / "cluster" / "local-multinode.sh"), "6397"
    state = Path(tempfile.mkdtemp(prefix="ddr-", dir="/tmp"))  # short: Ray's socket paths are limited
    env = {**os.environ, "DL_DRAWBACKS_CLUSTER_DIR": str(state)}
    sids = []
    try:
        subprocess.run([script, "start", "--port", port, "--workers", "1", "--worker-cpus", "1", "--head-cpus", "1",
                        "--dashboard-port", "8297", "--no-auth"], env=env, check=True, timeout=300)
        sids = [line.split()[1] for line in (state / "nodes").read_text().splitlines()]
        assert len(sids) == 2  # `start` returned only after both nodes joined
    finally:
        subprocess.run([script, "stop", "--port", port], env=env, check=True, timeout=120)
        shutil.rmtree(state, ignore_errors=True)
    alive = subprocess.run(["ps", "-e", "-o", "sid="], capture_output=True, text=True, check=True).stdout.split()
    assert not set(sids) & set(alive)


def test_crds_ship_in_the_package_with_their_licence(monkeypatch):
    monkeypatch.delenv("DL_DRAWBACKS_CRD_DIR", raising=False)
    assert default_crd_dir() == PACKAGED_CRDS
    assert sorted(p.name for p in PACKAGED_CRDS.iterdir()) == [
        "LICENSE", "NOTICE.md", "ray.io_rayclusters.yaml", "ray.io_rayjobs.yaml", "ray.io_rayservices.yaml"]
    assert "Apache License" in (PACKAGED_CRDS / "LICENSE").read_text()
    assert "ray-project/kuberay" in (PACKAGED_CRDS / "NOTICE.md").read_text()


PVC = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "runs"},
       "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}}}


@pytest.mark.parametrize("doc, field", [
    ({**PVC, "spec": {**PVC["spec"], "acessModes": ["ReadWriteMany"]}}, "acessModes"),  # misspelled: unknown field
    ({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x"}, "automountToken": False},
     "automountToken"),
    ({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "stringData": {"k": 1}}, "stringData"),
])
def test_core_kinds_are_checked_against_kubernetes_schemas(doc, field):
    status, errors = check_manifest(doc)
    assert status == "invalid" and len(errors) == 1 and field in errors[0], errors
    assert check_manifest(PVC) == ("ok", [])


@pytest.mark.parametrize("doc, reason", [
    ({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "x"}, "spec": {}}, "no schema"),
    ({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": ["a.yaml"]}, "kustomize"),
])
def test_what_nothing_can_check_is_skipped_never_ok(doc, reason, tmp_path, capsys):
    status, messages = check_manifest(doc)
    assert status == "skipped" and reason in messages[0]
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(doc))
    from dl_drawbacks.cli import main

    assert main(["k8s", "validate", str(tmp_path / "m.yaml")]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"{tmp_path / 'm.yaml'}: skipped (") and ": ok" not in err


@pytest.mark.parametrize("folder", BUILDS)
def test_cluster_runs_autoscaler_v2_and_scales_every_group_to_zero(folder):
    (cluster,) = [d for d in build(K8S / folder) if d["kind"] == "RayCluster"]
    spec = cluster["spec"]
    assert spec["enableInTreeAutoscaling"] is True and spec["autoscalerOptions"]["version"] == "v2"
    assert 0 < spec["autoscalerOptions"]["idleTimeoutSeconds"] <= 600  # an idle worker (and its GPU) goes soon
    head_env = {e["name"] for e in spec["headGroupSpec"]["template"]["spec"]["containers"][0]["env"]}
    assert "RAY_enable_autoscaler_v2" not in head_env  # the operator sets it from the version; both is refused
    for pod in ray_pods(cluster):
        assert pod["restartPolicy"] == "Never"
    for group in spec["workerGroupSpecs"]:
        assert group["minReplicas"] == group["replicas"] == 0 and group["maxReplicas"] >= 1, group["groupName"]


def _base_cluster() -> dict:
    return next(d for d in build(K8S / "base") if d["kind"] == "RayCluster")


def _head_env(cluster: dict, value: str) -> dict:
    cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "RAY_enable_autoscaler_v2", "value": value})
    return cluster


AUTOSCALER_RULES = {  # KubeRay's ValidateRayClusterSpec (ray-operator/controllers/ray/utils/validation.go)
    "env and version both": (lambda c: _head_env(c, "1"), "keep only the version"),
    "v2 env without the autoscaler": (
        lambda c: _head_env({**c, "spec": {**c["spec"], "enableInTreeAutoscaling": False}}, "true"),
        "needs enableInTreeAutoscaling: true"),
    "head restarts with v2": (lambda c: _set(c, "spec.headGroupSpec.template.spec.restartPolicy", "Always"),
                              "headGroupSpec.template.spec.restartPolicy: 'Always'; autoscaler v2 needs Never"),
    "worker restarts with v2": (lambda c: _set(c, "spec.workerGroupSpecs.1.template.spec.restartPolicy", "OnFailure"),
                                "workerGroupSpecs[1].template.spec.restartPolicy"),
    "negative idle timeout": (lambda c: _set(c, "spec.autoscalerOptions.idleTimeoutSeconds", -1), "must be >= 0"),
}


@pytest.mark.parametrize("rule", AUTOSCALER_RULES)
def test_each_autoscaler_rule_has_a_failing_example(rule):
    mutate, expected = AUTOSCALER_RULES[rule]
    assert validate_manifest(_base_cluster()) == []
    errors = validate_manifest(mutate(_base_cluster()))
    assert any(expected in e for e in errors), errors


def test_restart_policies_are_free_under_autoscaler_v1_and_the_env_switch_alone_is_accepted():
    v1 = _set(_base_cluster(), "spec.autoscalerOptions.version", "v1")
    assert validate_manifest(_set(v1, "spec.headGroupSpec.template.spec.restartPolicy", "Always")) == []
    by_env = _head_env(_set(_base_cluster(), "spec.autoscalerOptions.version", None), "1")  # KubeRay < 1.4's switch
    assert validate_manifest(by_env) == []
    assert validate_manifest(_set(by_env, "spec.headGroupSpec.template.spec.restartPolicy", "Always")) != []
    assert validate_manifest(_set(_base_cluster(), "spec.autoscalerOptions.version", "v3"))  # not in the CRD's enum
