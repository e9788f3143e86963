"""Flat metric rows: one schema for every study, written per trial as parquet.

A row is one measured or derived number with its context: which study and trial, which seed and
factor values, which metric on which split and group, at which step or epoch, in which unit, and
how it was obtained (``provenance``: ``measured``, ``analytic``, ``flop_counter``, ``nvml``,
``rapl``, ``estimate``, ``calibration``, ...). Factors are one canonical JSON string so that every
rows file has the same schema and a whole run folder scans as one lazy frame.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

import polars as pl

ROW_SCHEMA: dict[str, pl.DataType] = {
    "study": pl.String,
    "run_id": pl.String,
    "trial_id": pl.String,
    "seed": pl.Int64,
    "factors": pl.String,
    "metric": pl.String,
    "split": pl.String,
    "group": pl.String,
    "step": pl.Int64,
    "epoch": pl.Int64,
    "value": pl.Float64,
    "unit": pl.String,
    "provenance": pl.String,
    "rank": pl.Int64,
}


def canonical_factors(factors: Mapping[str, Any]) -> str:
    """The factor values of a trial as sorted, compact JSON (the key of a trial's setting)."""
    return json.dumps(dict(factors), sort_keys=True, separators=(",", ":"), default=str)


@dataclass
class RowBuffer:
    """Collects the rows of one trial (or one worker of it) in memory, then builds a frame."""

    study: str
    run_id: str
    trial_id: str
    seed: int
    factors: Mapping[str, Any]
    rank: int = 0
    _cols: dict[str, list] = field(default_factory=lambda: {k: [] for k in ROW_SCHEMA})

    def __post_init__(self) -> None:
        self._factors = canonical_factors(self.factors)  # once: add() sits on the training loop's hot path

    def add(
        self,
        metric: str,
        value: float,
        unit: str,
        *,
        split: str = "",
        group: str = "",
        step: int | None = None,
        epoch: int | None = None,
        provenance: str = "measured",
    ) -> None:
        c = self._cols
        c["study"].append(self.study)
        c["run_id"].append(self.run_id)
        c["trial_id"].append(self.trial_id)
        c["seed"].append(self.seed)
        c["factors"].append(self._factors)
        c["metric"].append(metric)
        c["split"].append(split)
        c["group"].append(group)
        c["step"].append(step)
        c["epoch"].append(epoch)
        c["value"].append(float(value))
        c["unit"].append(unit)
        c["provenance"].append(provenance)
        c["rank"].append(self.rank)

    def __len__(self) -> int:
        return len(self._cols["metric"])

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(self._cols, schema=ROW_SCHEMA)

    def replace_records(self, records: dict[str, list]) -> None:
        """Rows restored from a checkpoint (this buffer's earlier rows, before a restart)."""
        self._cols = {k: list(records[k]) for k in ROW_SCHEMA}

    def to_records(self) -> dict[str, list]:
        """Plain columns (picklable, cheap) for sending rows from a Ray Train worker to the trial."""
        return {k: list(v) for k, v in self._cols.items()}


def frame_from_records(records: list[dict[str, list]]) -> pl.DataFrame:
    """Concatenate column dicts produced by :meth:`RowBuffer.to_records` into one frame."""
    frames = [pl.DataFrame(r, schema=ROW_SCHEMA) for r in records if r and r["metric"]]
    if not frames:
        return pl.DataFrame(schema=ROW_SCHEMA)
    return pl.concat(frames, how="vertical")
