"""`dl-drawbacks k8s ...`: render a RayJob (and its spec ConfigMap) for a study, validate manifests against the
KubeRay CRDs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from dl_drawbacks.errors import SpecError
from dl_drawbacks.k8s.render import (DEFAULT_BACKOFF_LIMIT, DEFAULT_CPUS_PER_WORKER, DEFAULT_TTL_S,
                                     render_manifests, to_yaml)
from dl_drawbacks.k8s.validate import check_manifest
from dl_drawbacks.spec.load import read_text
from dl_drawbacks.storage.files import atomic_write_bytes


def _output_file(output: str) -> Path:
    """Where -o writes: refused in one line when it is a folder or its folder does not exist."""
    path = Path(output)
    if path.is_dir():
        raise SpecError(f"-o {output}: is a folder; give a file path such as {path / 'rayjob.yaml'}")
    if not path.parent.is_dir():
        raise SpecError(f"-o {output}: the folder {path.parent} does not exist; create it or write elsewhere")
    return path


def _render(args: argparse.Namespace) -> int:
    from dl_drawbacks.plan import load_checked

    output = _output_file(args.output) if args.output else None
    load_checked(args.spec)  # the job would fail on the cluster with a bad spec: refuse it here
    docs = render_manifests(
        args.spec, image=args.image, workers=args.workers, gpus_per_worker=args.gpus_per_worker,
        cpus_per_worker=args.cpus_per_worker, name=args.name, namespace=args.namespace,
        ttl_seconds=args.ttl_seconds, deadline_seconds=args.deadline_seconds, keep_cluster=args.keep_cluster,
        backoff_limit=args.backoff_limit, queue=args.queue, out=args.out, spec_from_configmap=args.spec_from_configmap,
    )
    text = to_yaml(docs)
    if output:
        atomic_write_bytes(output, text.encode())
        names = " and ".join(f"{d['kind']} {d['metadata']['name']}" for d in docs)
        print(f"wrote {names} to {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _validate(args: argparse.Namespace) -> int:
    failed = 0
    for file in args.files:
        text = read_text(Path(file), "manifest")
        try:
            docs = [d for d in yaml.safe_load_all(text) if d is not None]
        except (yaml.YAMLError, RecursionError) as exc:
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise SpecError(f"{file}: cannot read YAML ({first[:200]})") from None
        for i, doc in enumerate(docs):
            status, messages = check_manifest(doc, args.crd_dir)
            failed += status == "invalid"
            label = f"{file}#{i}" if len(docs) > 1 else file
            if status == "invalid":
                for error in messages:
                    print(f"{label}: {error}")
            else:
                print(f"{label}: {status}" + "".join(f" ({m})" for m in messages), file=sys.stderr)
    return 1 if failed else 0


def register(subparsers) -> None:
    """Add `k8s render` and `k8s validate` to the main CLI's subparsers."""
    k8s = subparsers.add_parser("k8s", help="KubeRay manifests: render a RayJob, validate manifests")
    commands = k8s.add_subparsers(dest="k8s_command", metavar="{render,validate}", required=True)

    render = commands.add_parser("render", help="print a RayJob that runs SPEC on its own Ray cluster "
                                 "(with --spec-from-configmap, the spec's ConfigMap first)")
    render.add_argument("spec", metavar="SPEC", help="study spec under studies/ (any path with --spec-from-configmap), "
                                                     "e.g. studies/compute.yaml")
    render.add_argument("--image", default=None,
                        help="container image (default dl-drawbacks:0.1.0, or dl-drawbacks:0.1.0-gpu with GPUs)")
    render.add_argument("--workers", type=int, default=1, help="Ray worker pods (default 1)")
    render.add_argument("--gpus-per-worker", type=int, default=0, help="GPUs per worker pod (default 0)")
    render.add_argument("--cpus-per-worker", type=int, default=DEFAULT_CPUS_PER_WORKER,
                        help=f"CPUs per worker pod (default {DEFAULT_CPUS_PER_WORKER})")
    render.add_argument("--name", default=None,
                        help="RayJob name, and the run folder /mnt/runs/NAME unless --out "
                             "(default <spec stem>-<random>)")
    render.add_argument("--out", default=None, metavar="URI_OR_DIR",
                        help="run folder: s3://bucket/prefix (pods read the bucket Secret dl-drawbacks-bucket and need "
                             "no shared volume) or a folder under /mnt/runs (default /mnt/runs/NAME)")
    render.add_argument("--spec-from-configmap", action="store_true",
                        help="carry SPEC in a ConfigMap rendered before the RayJob and mounted into the head pod, "
                             "instead of running the image's /app/studies copy (no image rebuild for a new spec)")
    render.add_argument("--namespace", default=None, help="Kubernetes namespace (default: kubectl's)")
    render.add_argument("--ttl-seconds", type=int, default=DEFAULT_TTL_S,
                        help=f"delete the Ray cluster (and free its GPUs) this long after the job ends "
                             f"(default {DEFAULT_TTL_S})")
    render.add_argument("--keep-cluster", action="store_true",
                        help="keep the Ray cluster after the job ends (debugging; its pods hold their GPUs "
                             "until you delete the RayJob)")
    render.add_argument("--queue", default=None, metavar="LOCALQUEUE",
                        help="Kueue LocalQueue to submit through (sets the kueue.x-k8s.io/queue-name label)")
    render.add_argument("--backoff-limit", type=int, default=DEFAULT_BACKOFF_LIMIT,
                        help=f"retries of a failed job, each on a new cluster resuming the run folder "
                             f"(default {DEFAULT_BACKOFF_LIMIT})")
    render.add_argument("--deadline-seconds", type=int, default=86400,
                        help="stop the job after this long (default 86400)")
    render.add_argument("-o", "--output", default=None, metavar="FILE", help="write here instead of stdout")
    render.set_defaults(func=_render)

    validate = commands.add_parser("validate", help="check manifests against the KubeRay CRDs and operator rules, "
                                   "core kinds against Kubernetes' schemas; prints ok, skipped or the errors")
    validate.add_argument("files", nargs="+", metavar="FILE", help="YAML files (multi-document allowed)")
    validate.add_argument("--crd-dir", type=Path, default=None,
                          help="KubeRay CRD folder (default $DL_DRAWBACKS_CRD_DIR, else the CRDs shipped in the "
                               "package)")
    validate.set_defaults(func=_validate)
