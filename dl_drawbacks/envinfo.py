"""The environment record: versions, hardware and Ray cluster resources, so a run folder describes itself."""

from __future__ import annotations

import platform
import socket
import sys
from importlib import metadata
from typing import Any

PACKAGES = (
    "dl-drawbacks",
    "torch",
    "ray",
    "deepspeed",
    "wandb",
    "polars",
    "numpy",
    "scikit-learn",
    "aif360",
    "captum",
    "optuna",
    "pydantic",
)


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def environment(cluster_resources: dict[str, float] | None = None) -> dict[str, Any]:
    import psutil
    import torch

    gpus = (
        [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    )
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count_logical": psutil.cpu_count(),
        "cpu_count_physical": psutil.cpu_count(logical=False),
        "memory_bytes": psutil.virtual_memory().total,
        "gpus": gpus,
        "packages": {p: package_version(p) for p in PACKAGES},
        "ray_cluster_resources": cluster_resources or {},
        "argv": sys.argv,
    }
