"""Shared fixtures: one small local Ray cluster per test session, W&B kept offline and in tmp."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SPECS = Path(__file__).resolve().parent / "specs"


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


@pytest.fixture
def specs_dir() -> Path:
    return SPECS
