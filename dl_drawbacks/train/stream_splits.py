"""The splits of a trial on a streamed data set: which rows each holds (chosen from the index alone) and how a
rank reads them (its Ray Train shard, or the lazy Ray Data dataset itself in a 1-worker trial)."""

from __future__ import annotations

from typing import Any

from ..data.streamed import StreamedDataset, execution_limits, is_streamed, selected_rows
from .context import StreamSplit, TrialContext


def set_stream_splits(ctx: TrialContext, ds: StreamedDataset, *, val_fraction: float = 0.0, val_seed: int = 0) -> None:
    """``ctx.splits`` train (subsampled to ``data.n_train``), val (when ``val_fraction`` > 0) and test, streamed."""
    rows = selected_rows(ds, n_train=ctx.trial.data.n_train, seed=ctx.trial.seed, val_fraction=val_fraction,
                         val_seed=val_seed)
    for name, picked in rows.items():
        ctx.splits[name] = StreamSplit(name, len(picked), _reader(ds, "train", picked), shard=ctx.dataset_shard)
    ctx.splits["test"] = StreamSplit("test", ds.n_test, _reader(ds, "test", None), shard=ctx.dataset_shard)
    if ctx.is_chief:
        ctx.rows.add("train_size", len(rows["train"]), "count", provenance="spec")


def _reader(ds: StreamedDataset, part: str, rows: Any):
    return lambda: ds.read(part, rows)


def trainer_data(trial_dict: dict[str, Any]) -> dict[str, Any]:
    """``TorchTrainer`` keyword arguments for a trial on a streamed data set ({} for array data): the lazy Ray
    Data dataset of each split the study kind prepares (``datasets=``; only train is sharded, every rank
    evaluates whole splits) and Ray Data's CPU limit (``dataset_config=``). The splits are chosen here exactly as
    each rank's ``prepare_data`` will choose them, from the index alone."""
    import torch
    from ray.train import DataConfig

    from ..plugins import load_plugins
    from ..rows import RowBuffer
    from ..spec.models import TrialSpec
    from ..studies.base import get_kind

    trial = TrialSpec.model_validate(trial_dict)
    load_plugins(trial.plugins)
    if not is_streamed(trial.data.name):
        return {}
    kind = get_kind(trial.study)
    ctx = TrialContext(trial=trial, run_id="", rank=-1, local_rank=0, world_size=trial.trainer.workers,
                       device=torch.device("cpu"), treatment=kind.Treatment.model_validate(trial.treatment),
                       rows=RowBuffer(trial.study, "", trial.trial_id, trial.seed, trial.factors, rank=-1))
    kind.prepare_data(ctx)
    datasets = {name: split.build() for name, split in ctx.splits.items() if isinstance(split, StreamSplit)}
    return {"datasets": datasets,
            "dataset_config": DataConfig(datasets_to_split=["train"],
                                         execution_options=execution_limits(ctx.dataset.read_cpus))}
