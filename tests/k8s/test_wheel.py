"""`k8s validate` works from the built wheel, outside the repository: the KubeRay CRDs travel as package
data (dl_drawbacks/k8s/crds/, with their licence), so nothing reads ../shared or the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN_FROM_WHEEL = """
import sys
sys.path.insert(0, sys.argv[1])  # ahead of the editable install's finder
import dl_drawbacks
assert dl_drawbacks.__file__.startswith(sys.argv[1]), dl_drawbacks.__file__
from dl_drawbacks.cli import main
sys.exit(main(["k8s", "validate", *sys.argv[2:]]))
"""


@pytest.mark.slow
def test_validate_runs_from_the_built_wheel(tmp_path):
    source = tmp_path / "src"  # a copy, so the build leaves the shared working tree alone
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", "build", "*.egg-info", "runs", "wandb",
                                                                "__pycache__", ".pytest_cache", ".hypothesis"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("dl_drawbacks-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for crd in ("ray.io_rayclusters.yaml", "ray.io_rayjobs.yaml", "ray.io_rayservices.yaml", "LICENSE", "NOTICE.md"):
        assert f"dl_drawbacks/k8s/crds/{crd}" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    manifests = [str(p) for p in sorted((ROOT / "k8s" / "base").glob("*.yaml"))] + [str(ROOT / "k8s/jobs/rayjob.yaml")]
    env = {k: v for k, v in os.environ.items() if k != "DL_DRAWBACKS_CRD_DIR"}
    done = subprocess.run([sys.executable, "-c", RUN_FROM_WHEEL, str(site), *manifests], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.count(": ok") == 3 and "kustomization.yaml: skipped" in done.stderr, done.stderr
