"""What every W&B run of one run folder shares, decided once on the driver and kept in its environment record.

The record's ``"wandb"`` entry holds the run group (made when the folder is created and read back ever after,
so a copied or re-checked-out folder keeps it), the mode this run uses and why (a key set on an
offline machine is probed once here, never once per trial) and the code version (git SHA, package
versions). Workers read it from the run folder; a trial never probes the network itself.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import RunFolderError
from ..storage.run_folder import LocalRunFolder
from .settings import TrackingSettings, decide_mode, resolve_mode

KEY = "wandb"


def read_env(run_dir: Path) -> dict[str, Any]:
    try:
        return LocalRunFolder(run_dir).env()
    except (OSError, RunFolderError):
        return {}


def _group_in_rows(run_dir: Path) -> str | None:
    """The group the trials already finished under (their rows' ``run_id``), if any."""
    import polars as pl

    folder = LocalRunFolder(run_dir)
    for path in [folder.rows_file(t) for t in folder.trial_names()]:
        try:
            ids = pl.read_parquet(path, columns=["run_id"], n_rows=1)["run_id"]
        except Exception:  # noqa: BLE001 - a damaged file is the store's business, not the group's
            continue
        if ids.len() and ids[0]:
            return str(ids[0])
    return None


def code_version() -> dict[str, Any]:
    """Git SHA (and whether tracked files differ from it) of the package's checkout, and package versions."""
    from ..envinfo import PACKAGES, package_version

    root = Path(__file__).resolve().parents[2]
    sha = dirty = None
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True, timeout=10, check=True).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return {"git_sha": sha, "git_dirty": dirty, "packages": {p: package_version(p) for p in PACKAGES}}


def start_tracking(run_dir: Path, suite: Any, *, stream: Any = None) -> str:
    """The run's W&B group; decides this run's mode once, records both with the environment, says so in one line."""
    env = read_env(run_dir)
    kept = env.get(KEY) if isinstance(env.get(KEY), dict) else {}
    group = kept.get("group") or _group_in_rows(run_dir) or f"{suite.name}-{int(time.time())}"
    mode, why = decide_mode(suite.tracking)
    record = {"group": group, "mode": mode, "why": why, **code_version()}
    LocalRunFolder(run_dir).write_env({**env, KEY: record})
    where = f"; offline runs in {Path(run_dir) / 'wandb'}" if mode == "offline" else ""
    print(f"W&B: {mode} ({why}); group {group}{where}", file=stream or sys.stderr, flush=True)
    return group


def run_group(run_dir: Path, suite: Any) -> str:
    """The group of a run folder's W&B runs: the environment record's, else the trials' rows', else the suite name."""
    kept = read_env(run_dir).get(KEY)
    return (kept.get("group") if isinstance(kept, dict) else None) or _group_in_rows(run_dir) or suite.name


def run_mode(run_dir: Path, settings: TrackingSettings) -> str:
    """The mode a trial or the summary uses: the spec's when explicit, else the driver's decision."""
    if settings.mode != "auto":
        return settings.mode
    kept = read_env(run_dir).get(KEY)
    decided = kept.get("mode") if isinstance(kept, dict) else None
    return decided if decided in ("online", "offline", "disabled") else resolve_mode("auto")


def run_info(run_dir: Path) -> dict[str, Any]:
    """The code version recorded for this run folder (git SHA, packages), for every run's config."""
    kept = read_env(run_dir).get(KEY)
    if not isinstance(kept, dict):
        return {}
    return {k: kept.get(k) for k in ("git_sha", "git_dirty", "packages")}
