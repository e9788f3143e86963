"""Run folders rebuilt from real quickstart rows (tests/fixtures/rows, made by tests/fixtures/make_rows.py), no Ray:
the quickstart spec with tracking disabled and each kind's fixture rows as finished trials."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import yaml

from dl_drawbacks.spec import load_spec
from dl_drawbacks.storage.run_folder import LocalRunFolder

TESTS = Path(__file__).resolve().parents[1]
ROWS = TESTS / "fixtures" / "rows"
QUICKSTART = TESTS.parent / "studies" / "quickstart.yaml"
KINDS = ["compute", "data", "overfitting", "hparams", "bias", "interpretability"]
COMPLETE = all((ROWS / f"{k}.parquet").exists() for k in KINDS)


def quickstart_run_folder(tmp_path: Path, *, keep_one_of: str | tuple[str, ...] = (),
                          kinds: list[str] = KINDS) -> Path:
    """A run folder of the quickstart spec (tracking disabled) holding the fixture rows of ``kinds`` as finished
    trials; the studies named in ``keep_one_of`` keep only their first trial."""
    out = tmp_path / "run"
    suite = load_spec(QUICKSTART).model_copy(update={"tracking": load_spec(QUICKSTART).tracking.model_copy(
        update={"mode": "disabled"})})
    out.mkdir(parents=True)
    (out / "spec.yaml").write_text(yaml.safe_dump(suite.model_dump(mode="json"), sort_keys=False))
    for kind in kinds:
        rows = pl.read_parquet(ROWS / f"{kind}.parquet")
        trials = sorted(set(rows["trial_id"].to_list()))
        for tid in trials[:1] if kind in keep_one_of else trials:
            LocalRunFolder(out).write_trial(tid, rows.filter(pl.col("trial_id") == tid),
                        {"status": "completed", "error": None, "study": kind, "sweep": "", "wall_seconds": 1.0})
    return out
