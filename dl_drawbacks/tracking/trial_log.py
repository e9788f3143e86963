"""One W&B run per trial and outcome (completed, stopped early, diverged, failed), from its rows.

A trial's run is logged on the driver from the rows and marker the trial wrote: by the run's one logger
(``trial_logger.TrialLogger``) as each trial ends, or, for what it did not log (a trial ASHA stopped, a
driver killed before its queue drained), by :func:`log_unlogged_trials` when the run is analysed. Each
logged trial leaves ``RUN_DIR/wandb/logged/<trial_id>.json`` so no trial is logged twice.

History: per-step rows; summary: every scalar row, keyed by ``keys`` (totals over ranks and devices)
plus ``outcome``/``error``; config: the resolved trial spec, its factors as top-level columns, the
placement (devices, nodes: names live here, never in keys) and the code version; tags: study, sweep
and outcome. The run's name is the trial's description (``mlp/s lr=0.003 seed=1``).
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from typing import Any, Mapping

import polars as pl

from . import keys
from .run_setup import run_info
from .settings import TrackingSettings
from .trial_run import TrialRun

log = logging.getLogger(__name__)

LOGGED = Path("wandb") / "logged"
MAX_NAME = 128
OUTCOMES = ("completed", "stopped_early", "diverged", "failed")  # interrupted trials are re-run, not logged


def wandb_run_id(group: str, trial_id: str) -> str:
    """The trial's W&B run id (W&B refuses ``/ \\ # ? % :`` in ids)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"{group}-{trial_id}")[:128]


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def factor_columns(factors: Mapping[str, Any], reserved: set[str] = frozenset()) -> dict[str, Any]:
    """Factors as top-level config columns: a setting path by its last part unless that name is taken."""
    shorts = [_short(k) for k in factors]
    out = {}
    for name, value in factors.items():
        column = _short(name)
        if shorts.count(column) > 1 or column in reserved:
            column = name.replace(".", "_")
        out[column] = value
    return out


def _path_value(spec: Mapping[str, Any], path: str) -> Any:
    node: Any = spec
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def swept_factors(spec: Mapping[str, Any], run_dir: Path) -> dict[str, Any] | None:
    """The values of the axes the trial's sweeps vary (from the run folder's spec), or None."""
    import yaml

    from ..storage.run_folder import LocalRunFolder

    try:
        suite = yaml.safe_load(LocalRunFolder(run_dir).spec_text() or "")
        study = suite["studies"][int(spec["study_index"])]
        names = str(spec["sweep"]).split(",")
        axes = [a for sw in study.get("sweeps") or [] if sw.get("name") in names for a in sw.get("axes") or {}]
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError, yaml.YAMLError):
        return None
    if not axes:
        return None
    return {a: _path_value(spec, a) for a in dict.fromkeys(axes)}


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def run_name(model: str, factors: Mapping[str, Any], seed: Any) -> str:
    """``mlp/s lr=0.003 seed=1``: the model, the given factors but the model's own, the seed."""
    parts = [model] if model else []
    parts += [f"{_short(k)}={_fmt(v)}" for k, v in factors.items()
              if k not in ("sweep", "model.family", "model.size") and not k.endswith("_id")]
    name = " ".join([*parts, f"seed={seed}"])
    return name if len(name) <= MAX_NAME else name[: MAX_NAME - 3] + "..."


def _tags(study: str, sweep: str, status: str) -> tuple[str, ...]:
    return (study, *(f"sweep:{s}" for s in str(sweep).split(",") if s), status)[:20]


def _record(run_dir: Path, trial_id: str, status: str, run_id: str, seconds: float) -> None:
    from ..storage.files import atomic_write_json

    atomic_write_json(Path(run_dir) / LOGGED / f"{trial_id}.json",
                      {"status": status, "wandb_run_id": run_id, "seconds": seconds})


def logged_status(run_dir: Path, trial_id: str) -> str | None:
    try:
        return json.loads((Path(run_dir) / LOGGED / f"{trial_id}.json").read_text()).get("status")
    except (OSError, ValueError, AttributeError):
        return None


def log_trial_run(settings: TrackingSettings, rows: pl.DataFrame, *, run_dir: Path, group: str, trial_id: str,
                  study: str, sweep: str, seed: Any, factors: Mapping[str, Any], spec: Mapping[str, Any],
                  status: str, error: str | None = None) -> bool:
    """Log one trial's run from its rows and outcome; True when W&B took it (never raises)."""
    if settings.mode == "disabled":
        return False
    t0 = time.perf_counter()
    model = spec.get("model") or {}
    model_name = f"{model.get('family')}/{model.get('size')}" if model else ""
    config = {**spec, **factor_columns(factors, reserved=set(spec)), "seed": seed, "study": study, "sweep": sweep,
              "outcome": status, **keys.placement(rows), **run_info(run_dir)}
    run_id = wandb_run_id(group, trial_id)
    shown = swept_factors(spec, run_dir)
    name = run_name(model_name, factors if shown is None else shown, seed)
    run = TrialRun.start(settings, run_dir, run_id=run_id, name=name, group=group,
                         job_type=study, config=config, tags=_tags(study, sweep, status))
    if not run.active:
        return False
    steps = keys.history(rows)
    for step in sorted(steps):
        run.log(steps[step], step=step)
    run.summary({**keys.summary(rows), "outcome": status, "error": error})
    ok = run.active
    run.finish(exit_code=1 if status == "failed" else 0)
    if ok:
        _record(run_dir, trial_id, status, run_id, time.perf_counter() - t0)
    return ok


def log_recorded_trial(run_dir: Path, trial_id: str, *, settings: TrackingSettings, group: str,
                       trial: Mapping[str, Any] | None = None) -> bool:
    """Log a trial from what its folder holds (rows + marker); ``trial`` is its spec when the plan knows it."""
    from ..storage.run_folder import LocalRunFolder

    folder = LocalRunFolder(run_dir)
    found = folder.marker(trial_id)
    marker = dict(found.fields) if found is not None else {}
    status = marker.get("status", "failed")
    path = folder.rows_file(trial_id)
    rows = pl.read_parquet(path) if path.exists() else pl.DataFrame(schema=_schema())
    first = rows.row(0, named=True) if rows.height else {}
    factors = dict(trial["factors"]) if trial else json.loads(first.get("factors") or "{}")
    spec = dict(trial) if trial else {"trial_id": trial_id}
    return log_trial_run(settings, rows, run_dir=Path(run_dir), group=group, trial_id=trial_id,
                         study=marker.get("study") or first.get("study") or "", sweep=marker.get("sweep") or
                         factors.get("sweep", ""), seed=first.get("seed", spec.get("seed")), factors=factors,
                         spec=spec, status=status, error=marker.get("error"))


def _schema() -> dict:
    from ..rows import ROW_SCHEMA

    return ROW_SCHEMA


def log_unlogged_trials(run_dir: Path, *, settings: TrackingSettings, group: str,
                        planned: Mapping[str, Mapping[str, Any]]) -> int:
    """Log every recorded trial whose outcome has no W&B run yet (stopped, died, failed); returns how many."""
    if settings.mode == "disabled":
        return 0
    from ..errors import RunFolderError
    from ..storage.run_folder import LocalRunFolder

    folder = LocalRunFolder(run_dir)
    n = 0
    for trial_id in folder.readable_trials():
        try:
            status = folder.marker(trial_id).status
        except (OSError, RunFolderError):
            continue
        if status not in OUTCOMES or logged_status(run_dir, trial_id) == status:
            continue
        try:
            n += log_recorded_trial(run_dir, trial_id, settings=settings, group=group, trial=planned.get(trial_id))
        except Exception as exc:  # noqa: BLE001 - a damaged trial folder costs its W&B run, not the others'
            log.warning("W&B run of trial %s not logged: %s: %s", trial_id, type(exc).__name__, exc)
    return n
