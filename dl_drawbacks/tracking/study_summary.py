"""One W&B "summary" run per study of a run: its findings, finding tables, figures and files.

The trials' runs carry the curves; this run carries the answer. Scalar findings go into the run summary
flattened to ``/``-joined keys (W&B groups keys by the part before ``/``), every table in the findings
becomes a ``wandb.Table`` under ``tables/<path>``, figures ``wandb.Image`` under ``figures/<stem>``, and
the study's rows, findings and report one Artifact.
Like every W&B call here it never raises: a failure is one warning and the study goes on.
"""

from __future__ import annotations

import logging
import numbers
from pathlib import Path
from typing import Any, Mapping

from dl_drawbacks.headline import Headline, as_dicts
from dl_drawbacks.tracking.findings_tables import columns_and_rows, finding_tables, headline_records
from dl_drawbacks.tracking.settings import TrackingSettings
from dl_drawbacks.tracking.trial_run import TrialRun

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp"})


def flatten_findings(findings: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested findings as one level, keys joined with ``/``; non-JSON scalars become strings."""
    flat: dict[str, Any] = {}
    for key, value in findings.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_findings(value, f"{name}/"))
        else:
            flat[name] = _plain(value)
    return flat


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalar or array
        return _plain(value.tolist())
    return str(value)


def log_study_summary(
    settings: TrackingSettings,
    run_dir: str | Path,
    *,
    group: str,
    kind: str,
    findings: dict,
    headlines: list[Headline],
    figures: list[Path],
    config: Mapping[str, Any] | None = None,
) -> bool:
    """Write the summary run of study ``kind`` (job type ``summary``); True when W&B took it.

    Summary: the scalar findings, flattened. Media: one ``wandb.Table`` per table in the findings
    (``tables/<path>``) and one of the study's headlines (as the analysis pass computed them), one
    ``wandb.Image`` per figure. Artifact ``<group>-<kind>``: the study's rows,
    the findings, the report, the spec and the environment record (offline it is staged and uploaded by ``wandb sync``).
    """
    from .run_setup import run_info
    from .trial_log import wandb_run_id

    run_dir = Path(run_dir)
    records = headline_records(as_dicts(headlines))
    tables = {**finding_tables(findings), **({"headlines": records} if records else {})}
    run = TrialRun.start(settings, run_dir, run_id=wandb_run_id(group, f"{kind}-summary"), name=f"{kind} summary",
                         group=group, job_type="summary", tags=(kind, "summary"),
                         config={**(config or {}), "study": kind, "tables": sorted(tables), "figures": len(figures),
                                 **run_info(run_dir)})
    if not run.active:
        return False
    run.summary(flatten_findings(_without_tables(findings)))
    media = _media(tables, figures)
    if media:
        run.log(media, step=0)
    _log_artifact(run, run_dir, group=group, kind=kind)
    ok = run.active
    run.finish()
    return ok


def _without_tables(findings: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in findings.items():
        if isinstance(value, Mapping):
            out[key] = _without_tables(value)
        elif not (isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value)):
            out[key] = value
    return out


def study_files(run_dir: Path, kind: str) -> list[Path]:
    """The run-folder files that record study ``kind``: its trials' rows and the run's findings and report."""
    from ..errors import RunFolderError
    from ..storage.run_folder import ENV, FINDINGS, REPORT_HTML, REPORT_MD, SPEC, LocalRunFolder

    folder = LocalRunFolder(run_dir)
    files = [folder.path(name) for name in (SPEC, ENV, FINDINGS, REPORT_MD, REPORT_HTML) if folder.path(name).exists()]
    for trial_id in folder.trial_names():
        try:
            marker = folder.marker(trial_id)
        except RunFolderError:
            continue
        rows = folder.rows_file(trial_id)
        if marker is not None and marker.get("study") == kind and rows.exists():
            files.append(rows)
    return files


def _log_artifact(run: TrialRun, run_dir: Path, *, group: str, kind: str) -> None:
    import re

    import wandb

    try:
        artifact = wandb.Artifact(name=re.sub(r"[^A-Za-z0-9_.-]", "-", f"{group}-{kind}")[:128], type="study-run",
                                  description=f"rows, findings and report of study {kind} in run group {group}")
        for path in study_files(run_dir, kind):
            artifact.add_file(str(path), name=str(path.relative_to(run_dir)))
        run.raw.log_artifact(artifact)
    except Exception as exc:  # noqa: BLE001 - the findings are logged even when the artifact is not
        log.warning("W&B artifact of %s not logged: %s: %s", kind, type(exc).__name__, exc)


def _media(tables: Mapping[str, list[dict]], figures: list[Path]) -> dict[str, Any]:
    """``wandb.Table``/``wandb.Image`` objects; one that cannot be built is skipped with a warning."""
    import wandb

    media: dict[str, Any] = {}
    for name, records in tables.items():
        try:
            columns, rows = columns_and_rows(records)
            if len(rows) > wandb.Table.MAX_ROWS:
                log.warning("W&B table %r: kept the first %d of %d rows (W&B's limit)", name, wandb.Table.MAX_ROWS,
                            len(rows))
                rows = rows[: wandb.Table.MAX_ROWS]
            media[f"tables/{name}"] = wandb.Table(columns=columns, data=rows)
        except Exception as exc:  # noqa: BLE001 - a bad table must not lose the findings
            log.warning("W&B table %r skipped: %s: %s", name, type(exc).__name__, exc)
    for path in map(Path, figures):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            log.warning("W&B figure %s skipped: W&B images take %s", path, sorted(IMAGE_SUFFIXES))
            continue
        try:
            media[f"figures/{path.stem}"] = wandb.Image(str(path))
        except Exception as exc:  # noqa: BLE001
            log.warning("W&B figure %s skipped: %s: %s", path, type(exc).__name__, exc)
    return media
