"""What a multi-worker trial on a streamed data set hands its TorchTrainer: the splits as Ray Data datasets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..data.streamed import execution_limits, is_streamed
from .context import SHARDED_SPLIT, StreamSplit, TrialContext, whole_split_name

if TYPE_CHECKING:
    from ..spec.models import TrialSpec


def trainer_data(trial: "TrialSpec") -> dict[str, Any]:
    """``TorchTrainer`` keyword arguments for a trial on a streamed data set ({} for array data, and for a kind
    that reads it into memory): the lazy Ray Data dataset of each split the study kind prepares (``datasets=``;
    only train is sharded, every rank evaluates whole splits, and ``train_whole`` holds train unsharded for what
    needs its arrays, e.g. the data study's baselines) and Ray Data's CPU limit and order (``dataset_config=``:
    the sharded train split in Ray Data's order, the others in index order). The splits are chosen here exactly as
    each rank's ``prepare_data`` will choose them, from the index alone; nothing is read here (the datasets are
    lazy: each rank's iterator, or the train split's coordinator, executes them)."""
    import torch
    from ray.train import DataConfig

    from ..plugins import load_plugins
    from ..rows import RowBuffer
    from ..studies.base import get_kind

    load_plugins(trial.plugins)
    kind = get_kind(trial.study)
    if not is_streamed(trial.data.name) or not kind.streams_data:
        return {}
    ctx = TrialContext(trial=trial, run_id="", rank=-1, local_rank=0, world_size=trial.trainer.workers, kind=kind,
                       device=torch.device("cpu"), treatment=kind.Treatment.model_validate(trial.treatment),
                       rows=RowBuffer(trial.study, "", trial.trial_id, trial.seed, trial.factors, rank=-1))
    kind.prepare_data(ctx)
    streams = {name: split for name, split in ctx.splits.items() if isinstance(split, StreamSplit)}
    datasets = {name: split.build() for name, split in streams.items()}
    datasets |= {whole_split_name(name): split.build() for name, split in streams.items() if name == SHARDED_SPLIT}
    limits = {name: execution_limits(ctx.dataset.read_cpus, ordered=name != SHARDED_SPLIT) for name in datasets}
    return {"datasets": datasets,
            "dataset_config": DataConfig(datasets_to_split=[SHARDED_SPLIT], execution_options=limits)}
