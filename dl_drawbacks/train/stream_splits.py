"""The splits of a trial on a streamed data set: which rows each holds (chosen from the index alone) and how a
rank reads them (its Ray Train shard, or the lazy Ray Data dataset itself in a 1-worker trial)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.streamed import StreamedDataset, selected_rows
from .context import StreamSplit, TrialContext


def set_stream_splits(ctx: TrialContext, ds: StreamedDataset, *, val_fraction: float = 0.0, val_seed: int = 0) -> None:
    """``ctx.splits`` train (subsampled to ``data.n_train``), val (when ``val_fraction`` > 0) and test, streamed."""
    rows = selected_rows(ds, n_train=ctx.trial.data.n_train, seed=ctx.trial.seed, val_fraction=val_fraction,
                         val_seed=val_seed)
    order = np.random.default_rng([ctx.trial.seed, 1]).permutation  # file order mixes classes (a folder is sorted)
    for name, picked in rows.items():
        picked = order(picked)
        ctx.splits[name] = StreamSplit(name, len(picked), _reader(ds, "train", picked), shard=ctx.dataset_shard,
                                       rows=picked)
    ctx.splits["test"] = StreamSplit("test", ds.n_test, _reader(ds, "test", None), shard=ctx.dataset_shard)
    if ctx.is_chief:
        ctx.rows.add("train_size", len(rows["train"]), "count", provenance="spec")


def _reader(ds: StreamedDataset, part: str, rows: Any):
    return lambda: ds.read(part, rows)
