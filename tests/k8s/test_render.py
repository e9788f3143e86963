"""`render_rayjob` turns a study spec into a valid RayJob (CPU or GPU), names it as KubeRay allows,
runs the spec at the path the image holds it or from a ConfigMap rendered with it, writes the run folder
on the shared volume or a bucket, never embeds a secret, and stays in sync with the RayJob example in k8s/jobs/."""

from __future__ import annotations

import argparse
import re
import shlex
import string
from pathlib import Path

import pytest
import yaml

from dl_drawbacks.errors import SpecError
from dl_drawbacks.k8s import render as render_module
from dl_drawbacks.k8s.cli import register
from dl_drawbacks.k8s.render import render_manifests, render_rayjob, to_yaml
from dl_drawbacks.k8s.validate import check_manifest, validate_manifest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "k8s" / "jobs" / "rayjob.yaml"
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
VALID_SPEC = "name: placeholder\nversion: 1\nstudies: [{kind: compute, trainer: {budget: {steps: 2}}}]\n"
GPU_SPEC = "name: placeholder\nversion: 1\nstudies: [{kind: compute, trainer: {use_gpu: true, budget: {steps: 2}}}]\n"


@pytest.fixture
def studies(tmp_path) -> Path:
    folder = tmp_path / "project" / "studies"
    (folder / "extra").mkdir(parents=True)
    for name in ("compute.yaml", "My_Study v2.yaml", "2024-bias.yaml", "extra/data.yml", "x" * 90 + ".yaml"):
        (folder / name).write_text(VALID_SPEC)
    (folder / "gpu.yaml").write_text(GPU_SPEC)
    return folder


def worker_group(doc: dict) -> dict:
    (group,) = doc["spec"]["rayClusterSpec"]["workerGroupSpecs"]
    return group


def containers(doc: dict) -> list[dict]:
    spec = doc["spec"]
    cluster = spec["rayClusterSpec"]
    pods = [spec["submitterPodTemplate"], cluster["headGroupSpec"]["template"], worker_group(doc)["template"]]
    return [c for pod in pods for c in pod["spec"]["containers"]]


@pytest.mark.parametrize("workers, gpus, cpus", [(1, 0, 2), (3, 0, 8), (1, 1, 4), (4, 8, 16)])
def test_rendered_rayjobs_validate(studies, workers, gpus, cpus):
    spec = studies / ("gpu.yaml" if gpus else "compute.yaml")
    doc = render_rayjob(str(spec), workers=workers, gpus_per_worker=gpus, cpus_per_worker=cpus)
    assert validate_manifest(doc) == []
    group = worker_group(doc)
    assert group["replicas"] == group["minReplicas"] == group["maxReplicas"] == workers
    resources = group["template"]["spec"]["containers"][0]["resources"]
    assert resources["requests"] == resources["limits"]
    assert resources["limits"]["cpu"] == str(cpus)
    assert resources["limits"].get("nvidia.com/gpu", 0) == gpus


def test_gpu_variant_uses_gpu_group_toleration_and_cuda_image(studies):
    gpu = render_rayjob(str(studies / "gpu.yaml"), gpus_per_worker=2)
    group = worker_group(gpu)
    assert group["groupName"] == "gpu-workers"
    assert group["template"]["spec"]["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert {c["image"] for c in containers(gpu)} == {"dl-drawbacks:0.1.0-gpu"}
    cpu = render_rayjob(str(studies / "compute.yaml"))
    assert worker_group(cpu)["groupName"] == "cpu-workers"
    assert "tolerations" not in worker_group(cpu)["template"]["spec"]
    assert "nvidia.com/gpu" not in to_yaml(cpu)
    assert {c["image"] for c in containers(cpu)} == {"dl-drawbacks:0.1.0"}
    custom = render_rayjob(str(studies / "gpu.yaml"), gpus_per_worker=1, image="registry.example/dd:1")
    assert {c["image"] for c in containers(custom)} == {"registry.example/dd:1"}


def test_entrypoint_runs_the_spec_inside_the_image_on_the_job_cluster(studies):
    doc = render_rayjob(str(studies / "compute.yaml"), name="c1", extra_args=["--dashboard", "it's"])
    assert shlex.split(doc["spec"]["entrypoint"]) == [
        "exec", "dl-drawbacks", "run", "/app/studies/compute.yaml", "--out", "/mnt/runs/c1", "--address", "auto",
        "--resume", "--dashboard", "it's"]
    nested = render_rayjob(str(studies / "extra" / "data.yml"))
    assert "/app/studies/extra/data.yml" in nested["spec"]["entrypoint"]
    assert doc["spec"]["shutdownAfterJobFinishes"] is True


@pytest.mark.parametrize("file, prefix", [
    ("compute.yaml", "compute-"), ("My_Study v2.yaml", "my-study-v2-"), ("2024-bias.yaml", "bias-"),
    ("x" * 90 + ".yaml", "x" * 41 + "-"),
])
def test_names_are_dns_1035_labels_with_a_short_suffix(studies, file, prefix):
    names = {render_rayjob(str(studies / file))["metadata"]["name"] for _ in range(3)}
    assert len(names) == 3  # the random suffix keeps resubmissions apart
    for name in names:
        assert DNS_1035.match(name) and len(name) <= 47 and name.startswith(prefix)
        assert re.fullmatch(re.escape(prefix) + r"[a-z0-9]{5}", name)


def test_explicit_name_namespace_and_timers(studies):
    doc = render_rayjob(str(studies / "compute.yaml"), name="nightly-compute", namespace="research",
                        ttl_seconds=60, deadline_seconds=7200)
    assert doc["metadata"]["name"] == "nightly-compute" and doc["metadata"]["namespace"] == "research"
    assert doc["spec"]["ttlSecondsAfterFinished"] == 60 and doc["spec"]["activeDeadlineSeconds"] == 7200
    assert doc["spec"]["entrypoint"].endswith("--out /mnt/runs/nightly-compute --address auto --resume")


def test_rendered_rayjob_never_contains_a_secret_value(studies, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "sentinel-value-123")
    monkeypatch.setenv("RAY_AUTH_TOKEN", "sentinel-value-456")
    for gpus in (0, 1):
        doc = render_rayjob(str(studies / ("gpu.yaml" if gpus else "compute.yaml")), gpus_per_worker=gpus)
        text = to_yaml(doc)
        assert "sentinel-value" not in text
        for container in containers(doc):
            for env in container.get("env", []):
                if env["name"] == "WANDB_API_KEY":
                    assert set(env) == {"name", "valueFrom"} and "secretKeyRef" in env["valueFrom"]


@pytest.mark.parametrize("kwargs, message", [
    ({"workers": 0}, "workers must be an integer >= 1"),
    ({"gpus_per_worker": -1}, "gpus per worker"),
    ({"cpus_per_worker": 0}, "cpus per worker"),
    ({"ttl_seconds": -5}, "ttl seconds"),
    ({"deadline_seconds": 0}, "deadline seconds"),
    ({"namespace": "Research_Team"}, "namespace"),
    ({"name": "Nightly"}, "--name 'Nightly'"),
    ({"name": "n" * 48}, "at most 47"),
    ({"image": "dl drawbacks"}, "image"),
])
def test_bad_arguments_raise_a_one_line_spec_error(studies, kwargs, message):
    with pytest.raises(SpecError, match=re.escape(message)) as caught:
        render_rayjob(str(studies / "compute.yaml"), **kwargs)
    assert "\n" not in str(caught.value)


def test_spec_must_exist_under_studies(studies, tmp_path):
    outside = tmp_path / "mine.yaml"
    outside.write_text("name: x\n")
    with pytest.raises(SpecError, match="not under a studies/ folder"):
        render_rayjob(str(outside))
    with pytest.raises(SpecError, match="not found"):
        render_rayjob(str(studies / "missing.yaml"))
    (studies / "notes.txt").write_text("x")
    with pytest.raises(SpecError, match="not a .yaml file"):
        render_rayjob(str(studies / "notes.txt"))


def test_packaged_template_equals_the_k8s_example_modulo_placeholders(studies):
    template = render_module.TEMPLATE.read_text()
    found = string.Template.pattern.finditer(template)
    placeholders = {m["named"] or m["braced"] for m in found if m["named"] or m["braced"]}
    assert placeholders == {"name", "study", "image", "entrypoint"}
    example = yaml.safe_load(EXAMPLE.read_text())
    head = example["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    values = {"name": example["metadata"]["name"], "study": example["metadata"]["labels"]["dl-drawbacks/study"],
              "image": head["image"], "entrypoint": example["spec"]["entrypoint"]}
    filled = yaml.safe_load(string.Template(template).substitute(values))
    assert filled == example
    rendered = render_rayjob(str(studies / "compute.yaml"), name=example["metadata"]["name"])
    assert rendered == example


def test_to_yaml_round_trips_and_keeps_the_manifest_order(studies):
    doc = render_rayjob(str(studies / "gpu.yaml"), gpus_per_worker=1)
    text = to_yaml(doc)
    assert yaml.safe_load(text) == doc
    assert text.startswith("apiVersion: ray.io/v1\nkind: RayJob\n")


def test_cli_render_writes_a_valid_rayjob(studies, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="dl-drawbacks")
    register(parser.add_subparsers(dest="command"))
    out = tmp_path / "job.yaml"
    args = parser.parse_args(["k8s", "render", str(studies / "gpu.yaml"), "--workers", "2",
                              "--gpus-per-worker", "1", "--cpus-per-worker", "4", "--name", "gpu-compute",
                              "--namespace", "research", "-o", str(out)])
    assert args.func(args) == 0
    doc = yaml.safe_load(out.read_text())
    assert validate_manifest(doc) == [] and worker_group(doc)["replicas"] == 2
    assert doc["metadata"] == {**doc["metadata"], "name": "gpu-compute", "namespace": "research"}
    args = parser.parse_args(["k8s", "render", str(studies / "compute.yaml")])
    assert args.func(args) == 0
    assert yaml.safe_load(capsys.readouterr().out)["kind"] == "RayJob"


def _render_cli(*argv: str) -> int:
    from dl_drawbacks.cli import main

    return main(["k8s", "render", *argv])


@pytest.mark.parametrize("case", ["folder", "missing parent", "bad spec", "not utf-8"])
def test_cli_render_refuses_in_one_line(studies, tmp_path, capsys, case):
    spec, out = studies / "compute.yaml", tmp_path / "job.yaml"
    if case == "folder":
        out = tmp_path
    elif case == "missing parent":
        out = tmp_path / "nope" / "job.yaml"
    elif case == "bad spec":
        spec.write_text("name: x\nversion: 1\nstudies: [{kind: compute, seeds: [0, 0]}]\n")
    else:
        spec.write_bytes(b"name: \xff\xfe\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert _render_cli(str(spec), "-o", str(out)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert {"folder": "is a folder", "missing parent": "does not exist", "bad spec": "seeds",
            "not utf-8": "not UTF-8"}[case] in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_cli_validate_names_a_file_that_is_not_utf8(tmp_path, capsys):
    from dl_drawbacks.cli import main

    bad = tmp_path / "m.yaml"
    bad.write_bytes(b"kind: \xff\n")
    assert main(["k8s", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(bad) in err and "not UTF-8" in err


def test_default_job_resumes_retries_and_releases_its_cluster_soon(studies):
    spec = render_rayjob(str(studies / "compute.yaml"))["spec"]
    assert "--resume" in shlex.split(spec["entrypoint"])  # a retry or resubmission finishes the run folder
    assert spec["shutdownAfterJobFinishes"] is True and 0 < spec["ttlSecondsAfterFinished"] <= 300
    assert spec["backoffLimit"] >= 1
    kept = render_rayjob(str(studies / "compute.yaml"), keep_cluster=True)
    assert kept["spec"]["shutdownAfterJobFinishes"] is False and "ttlSecondsAfterFinished" not in kept["spec"]
    assert validate_manifest(kept) == []


SPREAD_SPEC = ("name: p\nversion: 1\nstudies: [{kind: compute, trainer: {workers: 3, placement: STRICT_SPREAD, "
               "budget: {steps: 2}}}]\n")
BIG_WORKER_SPEC = "name: p\nversion: 1\nstudies: [{kind: compute, trainer: {cpus_per_worker: 6, budget: {steps: 2}}}]\n"


@pytest.mark.parametrize("text, kwargs, message", [
    (VALID_SPEC, {"gpus_per_worker": 1}, "no trial"),  # GPU pods for a CPU-only study
    (GPU_SPEC, {}, "needs 1 GPU but the cluster has 0"),  # a GPU study on CPU pods
    (SPREAD_SPEC, {"workers": 2}, "STRICT_SPREAD of 3 workers needs as many nodes"),
    (SPREAD_SPEC, {"workers": 1, "cpus_per_worker": 2}, "needs 4 CPU but the cluster has 2"),
    (BIG_WORKER_SPEC, {"workers": 2}, "does not fit in one pod"),
])
def test_render_refuses_a_cluster_that_cannot_run_the_study(studies, text, kwargs, message):
    spec = studies / "shape.yaml"
    spec.write_text(text)
    with pytest.raises(SpecError, match=message) as caught:
        render_rayjob(str(spec), **kwargs)
    assert "\n" not in str(caught.value) and "-per-worker" in str(caught.value)  # names the flag to change
    fitting = {"gpus_per_worker": 1} if text == GPU_SPEC else {"workers": 3, "cpus_per_worker": 6}
    assert render_rayjob(str(spec), **fitting)["kind"] == "RayJob"  # the same study on a cluster that fits


def test_cli_render_refuses_gpu_pods_for_a_cpu_study_in_one_line(studies, capsys):
    assert _render_cli(str(studies / "compute.yaml"), "--gpus-per-worker", "1") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "uses a GPU" in err


def test_queue_label_for_kueue_and_its_refusals(studies):
    doc = render_rayjob(str(studies / "compute.yaml"), queue="team-a")
    assert doc["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "team-a"
    assert validate_manifest(doc) == []
    assert "kueue.x-k8s.io/queue-name" not in render_rayjob(str(studies / "compute.yaml"))["metadata"]["labels"]
    with pytest.raises(SpecError, match="Kueue admits only"):
        render_rayjob(str(studies / "compute.yaml"), queue="team-a", keep_cluster=True)
    with pytest.raises(SpecError, match="LocalQueue name"):
        render_rayjob(str(studies / "compute.yaml"), queue="Team A")


def _head_pod(doc: dict) -> dict:
    return doc["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]


def test_spec_from_configmap_mounts_the_spec_into_the_head_and_runs_it_there(studies, tmp_path):
    spec = studies / "My_Study v2.yaml"
    configmap, job = render_manifests(str(spec), name="c1", namespace="research", spec_from_configmap=True)
    assert [configmap["kind"], job["kind"]] == ["ConfigMap", "RayJob"]
    assert configmap["metadata"]["name"] == "c1-spec" and configmap["immutable"] is True
    assert configmap["data"] == {"My_Study-v2.yaml": spec.read_text()}  # a key Kubernetes accepts, the file's text
    assert {d["metadata"]["namespace"] for d in (configmap, job)} == {"research"}
    assert check_manifest(configmap) == ("ok", []) and validate_manifest(job) == []
    head = _head_pod(job)
    (volume,) = [v for v in head["volumes"] if v.get("configMap")]
    assert volume["configMap"]["name"] == "c1-spec"
    (mount,) = [m for m in head["containers"][0]["volumeMounts"] if m["name"] == volume["name"]]
    assert mount["readOnly"] is True
    command = shlex.split(job["spec"]["entrypoint"])
    assert command[:4] == ["exec", "dl-drawbacks", "run", f"{mount['mountPath']}/My_Study-v2.yaml"]
    outside = tmp_path / "mine.yaml"  # a spec the image does not hold: fine from a ConfigMap, refused without
    outside.write_text(VALID_SPEC)
    assert render_manifests(str(outside), spec_from_configmap=True)[0]["data"] == {"mine.yaml": VALID_SPEC}
    with pytest.raises(SpecError, match="--spec-from-configmap"):
        render_manifests(str(outside))
    (only,) = render_manifests(str(studies / "compute.yaml"))
    assert only["kind"] == "RayJob" and not any(v.get("configMap") for v in _head_pod(only)["volumes"])


def test_a_spec_too_big_for_a_configmap_is_refused(studies):
    big = studies / "big.yaml"
    big.write_text(VALID_SPEC + "#" * (1024 * 1024) + "\n")
    with pytest.raises(SpecError, match="at most 1048576"):
        render_manifests(str(big), spec_from_configmap=True)


def test_cli_writes_configmap_and_rayjob_in_one_file_that_validates(studies, tmp_path, capsys):
    from dl_drawbacks.cli import main

    out = tmp_path / "job.yaml"
    assert main(["k8s", "render", str(studies / "compute.yaml"), "--spec-from-configmap", "--name", "c2",
                 "--out", "s3://bucket/studies/c2", "-o", str(out)]) == 0
    assert "wrote ConfigMap c2-spec and RayJob c2 to" in capsys.readouterr().err
    docs = list(yaml.safe_load_all(out.read_text()))
    assert [d["kind"] for d in docs] == ["ConfigMap", "RayJob"]
    assert "compute.yaml: |\n" in out.read_text()  # the spec is readable in the file, as a literal block
    assert main(["k8s", "validate", str(out)]) == 0
    assert capsys.readouterr().err.splitlines() == [f"{out}#0: ok", f"{out}#1: ok"]


def test_out_uri_reads_the_bucket_secret_and_needs_no_shared_volume(studies, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sentinel-value-789")
    doc = render_rayjob(str(studies / "compute.yaml"), name="c3", out="s3://bucket/studies/c3")
    assert validate_manifest(doc) == [] and "sentinel-value" not in to_yaml(doc)
    assert "--out s3://bucket/studies/c3 --address auto --resume" in doc["spec"]["entrypoint"]
    pods = [_head_pod(doc), worker_group(doc)["template"]["spec"]]
    for pod in pods:
        env = {e["name"]: e for e in pod["containers"][0]["env"]}
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
            ref = env[name]["valueFrom"]["secretKeyRef"]
            assert set(env[name]) == {"name", "valueFrom"}
            assert (ref["name"], ref["key"]) == ("dl-drawbacks-bucket", name)
        assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["optional"] is False
        assert env["AWS_ENDPOINT_URL"]["valueFrom"]["secretKeyRef"]["optional"] is True  # AWS itself needs none
        assert not any("persistentVolumeClaim" in v for v in pod["volumes"])
    default = render_rayjob(str(studies / "compute.yaml"), name="c4")
    assert "--out /mnt/runs/c4 " in default["spec"]["entrypoint"] and "AWS_" not in to_yaml(default)
    assert all(any("persistentVolumeClaim" in v for v in pod["volumes"])
               for pod in (_head_pod(default), worker_group(default)["template"]["spec"]))
    under = render_rayjob(str(studies / "compute.yaml"), out="/mnt/runs/team/c5")
    assert "--out /mnt/runs/team/c5 " in under["spec"]["entrypoint"]


@pytest.mark.parametrize("out", ["runs/c1", "/tmp/c1", "/mnt/runs", "s3://", "s3://bucket/my runs"])
def test_out_that_would_be_lost_with_the_pod_is_refused(studies, out):
    with pytest.raises(SpecError, match="--out") as caught:
        render_rayjob(str(studies / "compute.yaml"), out=out)
    assert "\n" not in str(caught.value)
