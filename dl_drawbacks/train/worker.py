"""Worker code: top-level functions of their config alone (what Ray ships to workers).

``train_worker`` is the ``train_loop_per_worker`` of a TorchTrainer (DeepSpeed, any worker count);
``run_worker`` trains one rank; a plain-engine trial calls it inside its Tune trial process.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable

import numpy as np
import torch

from ..studies.base import get_kind
from ..models.base import DataShape, count_parameters, resolve_params
from ..plugins import load_plugins
from ..registry import MODELS
from ..rows import RowBuffer
from ..spec.models import TrialSpec
from .checkpoint import Checkpointer
from .context import StreamSplit, TrialContext
from .engine import DeepSpeedEngine, PlainEngine
from .flops import COUNTED_ON, cached_train_flops
from .instruments import Instruments
from .loop import record_batching, train_trial
from .torch_extensions import build_deepspeed_ops


def data_shape(ctx: TrialContext) -> DataShape:
    ds, train = ctx.dataset, ctx.splits["train"]
    if isinstance(train, StreamSplit):
        return DataShape(ds.modality, ds.n_features, ds.n_classes, seq_len=ds.seq_len, image_shape=ds.image_shape)
    seq_len = train.x.shape[1] if ds.modality == "tokens" else 0
    return DataShape(ds.modality, int(train.x[0].size), ds.n_classes, seq_len=seq_len, image_shape=ds.image_shape)


def _flop_sample(ctx: TrialContext, shape: DataShape, micro: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs of one micro-batch to count FLOPs on: the first samples, or zeros shaped like them when streamed
    (FLOPs depend on shapes, not values)."""
    train = ctx.splits["train"]
    if not isinstance(train, StreamSplit):
        return train.x[:micro], train.y[:micro]
    n = min(micro, len(train))
    if shape.modality == "tokens":
        return np.zeros((n, shape.seq_len), np.int64), np.zeros((n, shape.seq_len), np.int64)
    return np.zeros((n, shape.n_features), np.float32), np.zeros(n, np.int64)


def _device(trial: TrialSpec, local_rank: int) -> torch.device:
    if not trial.trainer.use_gpu:
        return torch.device("cpu")
    index = local_rank if torch.cuda.device_count() > 1 else 0
    torch.cuda.set_device(index)
    return torch.device("cuda", index)


def _build_model(ctx: TrialContext, instruments_args: dict[str, Any]) -> torch.nn.Module:
    trial = ctx.trial
    family = MODELS.get(trial.model.family)
    params = resolve_params(trial.model.family, trial.model.size, dict(trial.model.params))
    shape = data_shape(ctx)
    model = family.build(params, shape)
    analytic = family.train_flops_per_sample(params, shape)
    counted = None
    if ctx.is_chief or analytic is None:  # a family without a formula is timed with the counted figure
        x, y = _flop_sample(ctx, shape, ctx.trial.trainer.micro_batch)
        counted = cached_train_flops(family, params, shape, x, y) / len(y)
    per_sample, provenance = (analytic, "analytic") if analytic is not None else (counted, COUNTED_ON)
    instruments_args.update(train_flops_per_sample=per_sample, flops_provenance=provenance,
                            samples_per_step=record_batching(ctx), tokens_per_sample=max(shape.seq_len, 1))
    if ctx.is_chief:
        ctx.rows.add("parameters", count_parameters(model), "count", provenance="counted")
        ctx.rows.add("flops_per_sample", counted, "FLOP", provenance=COUNTED_ON)
        if analytic is not None:
            ctx.rows.add("flops_per_sample", analytic, "FLOP", provenance="analytic")
    return model


def run_worker(
    trial: TrialSpec,
    run_id: str,
    *,
    rank: int = 0,
    local_rank: int = 0,
    world_size: int = 1,
    checkpoint_every: int = 0,
    fault: list[dict[str, Any]] | None = None,
    dataset_shard: Callable[[str], Any] | None = None,
) -> dict[str, list]:
    """Train one trial on this process; returns its rows as plain columns. ``dataset_shard`` (Ray Train's
    ``get_dataset_shard``) gives a rank its shard of each streamed split."""
    t_start = time.perf_counter()
    if trial.trainer.resolved_engine == "deepspeed":
        build_deepspeed_ops()
    load_plugins(trial.plugins)  # the spec's own model families, datasets and kinds, on this worker too
    kind = get_kind(trial.study)
    torch.set_num_threads(trial.trainer.cpus_per_worker)
    torch.manual_seed(trial.seed)
    ctx = TrialContext(
        trial=trial,
        run_id=run_id,
        rank=rank,
        local_rank=local_rank,
        world_size=world_size,
        device=_device(trial, local_rank),
        rows=RowBuffer(trial.study, run_id, trial.trial_id, trial.seed, trial.factors, rank=rank),
        kind=kind,
        treatment=kind.Treatment.model_validate(trial.treatment),
        dataset_shard=dataset_shard,
    )
    t_start_args: dict[str, Any] = {"t_trial_start": t_start}
    kind.prepare_data(ctx)
    model = _build_model(ctx, t_start_args)
    instruments = Instruments(ctx, **t_start_args)
    if trial.trainer.resolved_engine == "deepspeed":
        ctx.engine = DeepSpeedEngine(model, trial.trainer, ctx.device, world_size)
    else:
        ctx.engine = PlainEngine(model, trial.trainer, ctx.device)
    ctx.model = ctx.engine.module
    checkpointer = Checkpointer(ctx, every=checkpoint_every, fault=fault) if checkpoint_every or fault else None
    train_trial(ctx, instruments, checkpointer)
    return ctx.rows.to_records()


def train_worker(config: dict[str, Any]) -> list[dict[str, list]] | None:
    """TorchTrainer entry point, given its one-trial ``Launch`` (parsed once here): every rank trains; rank 0
    gathers all ranks' rows and returns them (the driver's logger logs the trial's W&B run from the rows its Tune
    trial writes)."""
    import ray
    import ray.train

    from ..data.streamed import is_streamed
    from ..launch import Launch

    launch = Launch.of_task(config)
    trial = launch.trial
    c = ray.train.get_context()
    node = ray.get_runtime_context().get_node_id()
    os.environ.setdefault("DS_ACCELERATOR", "cuda" if trial.trainer.use_gpu else "cpu")
    load_plugins(trial.plugins)  # a plug-in's data set must be registered before ``is_streamed`` looks it up
    records = run_worker(
        trial,
        launch.run_id,
        rank=c.get_world_rank(),
        local_rank=c.get_local_rank(),
        world_size=c.get_world_size(),
        checkpoint_every=launch.checkpoint_every,
        fault=launch.fault,
        dataset_shard=ray.train.get_dataset_shard if is_streamed(trial.data.name) else None,
    )
    placement = RowBuffer(trial.study, launch.run_id, trial.trial_id, trial.seed, trial.factors,
                          rank=c.get_world_rank())
    placement.add(
        "worker", c.get_local_rank(), "local_rank", group=f"node:{node}", provenance="ray"
    )  # where each rank ran
    records = {k: records[k] + v for k, v in placement.to_records().items()}
    gathered: list[Any] = [None] * c.get_world_size()
    torch.distributed.all_gather_object(gathered, records)
    return gathered if c.get_world_rank() == 0 else None
