"""Shared fixtures: one small local Ray cluster per test session, W&B kept offline and in tmp."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SPECS = Path(__file__).resolve().parent / "specs"
pytest_plugins = ["xdist_ray_group"]  # tests/support: every Ray test in one xdist worker


@pytest.fixture(scope="session", autouse=True)
def _quiet_offline_wandb(tmp_path_factory):
    base = tmp_path_factory.mktemp("wandb-home")
    for key, value in {"WANDB_SILENT": "true", "WANDB_DATA_DIR": str(base / "data"), "WANDB_CACHE_DIR": str(base / "cache"),
                       "WANDB_CONFIG_DIR": str(base / "config"), "WANDB_MODE": "offline"}.items():
        os.environ[key] = value
    os.environ.pop("WANDB_API_KEY", None)
    yield


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray cluster (3 logical CPUs: two Train workers plus their Tune trial) shared by the session."""
    import ray

    if not ray.is_initialized():
        ray.init(address="local", num_cpus=3, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray.cluster_resources()
    ray.shutdown()


@pytest.fixture(scope="module")
def s3_endpoint():
    """A real S3 endpoint on 127.0.0.1 (moto's server, tests/support/s3_server.py) with a fresh bucket."""
    from s3_server import s3_server

    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3(s3_endpoint, monkeypatch):
    """The endpoint, with its address and credentials in this process's environment."""
    for key, value in s3_endpoint.env.items():
        monkeypatch.setenv(key, value)
    return s3_endpoint


@pytest.fixture
def specs_dir() -> Path:
    return SPECS
