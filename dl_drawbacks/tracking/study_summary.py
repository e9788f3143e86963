"""One W&B "summary" run per study run: the findings, the aggregated tables and the figures.

The trials' runs carry the curves; this run carries the answer. Findings go into the run summary
flattened to ``/``-joined keys (W&B groups keys by the part before ``/``), tables become
``wandb.Table`` under ``tables/<name>`` and figures ``wandb.Image`` under ``figures/<stem>``.
Like every W&B call here it never raises: a failure is one warning and the study goes on.
"""

from __future__ import annotations

import logging
import numbers
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from dl_drawbacks.tracking.settings import TrackingSettings
from dl_drawbacks.tracking.trial_run import TrialRun

if TYPE_CHECKING:
    import polars

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
    run_id: str,
    group: str,
    findings: dict,
    tables: dict[str, "polars.DataFrame"],
    figures: list[Path],
) -> None:
    """Write the summary run ``run_id`` (job type ``summary``) of the study group ``group``."""
    run = TrialRun.start(settings, run_dir, run_id=run_id, name=f"{group} summary", group=group,
                         job_type="summary", config={"tables": sorted(tables), "figures": len(figures)})
    if not run.active:
        return
    run.summary(flatten_findings(findings))
    media = _media(tables, figures)
    if media:
        run.log(media, step=0)
    run.finish()


def _media(tables: Mapping[str, Any], figures: list[Path]) -> dict[str, Any]:
    """``wandb.Table``/``wandb.Image`` objects; one that cannot be built is skipped with a warning."""
    import wandb

    media: dict[str, Any] = {}
    for name, frame in tables.items():
        try:
            if frame.height > wandb.Table.MAX_ROWS:
                log.warning("W&B table %r: kept the first %d of %d rows (W&B's limit)",
                            name, wandb.Table.MAX_ROWS, frame.height)
                frame = frame.head(wandb.Table.MAX_ROWS)
            rows = [[_cell(v) for v in row] for row in frame.iter_rows()]
            media[f"tables/{name}"] = wandb.Table(columns=list(frame.columns), data=rows)
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


def _cell(value: Any) -> Any:
    """A table cell W&B can serialize: numbers, strings, bools and None as they are, else str."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
