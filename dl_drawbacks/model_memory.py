"""A trial whose model cannot fit one worker's node is refused before anything is built (a `width: 1e12` used
to plan and then die of memory inside its trial).

The parameter count is estimated from the family's analytic training FLOPs per sample: training costs about
6 FLOPs per parameter per token (Kaplan et al. 2020, §2.1), so N ≈ flops / (6 · tokens per sample). Training
state is 16 bytes per parameter with Adam (4 weights + 4 gradients + 8 moments; ZeRO, Rajbhandari et al. 2020,
§3.1, fp32 here); ZeRO stage 1 shards the moments over the workers, stage 2 the gradients too, stage 3 the
weights too. Activations are not estimated: the check refuses only models whose state alone cannot fit.
"""

from __future__ import annotations

from typing import Any

from .errors import ClusterError
from .models.base import DataShape, resolve_params
from .registry import MODELS
from .spec.models import TrialSpec

BYTES = {"weights": 4, "gradients": 4, "moments": 8}
SHARDED_FROM_STAGE = {"moments": 1, "gradients": 2, "weights": 3}


def data_key(trial: TrialSpec) -> tuple[str, str]:
    """Trials with equal keys load the same data set."""
    return trial.data.name, repr(sorted(trial.data.options.items()))


def data_shape(ds: Any) -> DataShape:
    """What a model needs to know of a loaded dataset (as the worker computes it)."""
    from .data.streamed import StreamedDataset

    if isinstance(ds, StreamedDataset):  # never materialised on the driver: its index says the shape
        return DataShape(ds.modality, ds.n_features, ds.n_classes, seq_len=ds.seq_len, image_shape=ds.image_shape)
    seq_len = ds.x_train.shape[1] if ds.modality == "tokens" else 0
    return DataShape(ds.modality, int(ds.x_train[0].size), ds.n_classes, seq_len=seq_len,
                     image_shape=ds.image_shape)


def estimated_parameters(trial: TrialSpec, shape: DataShape) -> float:
    params = resolve_params(trial.model.family, trial.model.size, dict(trial.model.params))
    return MODELS.get(trial.model.family).train_flops_per_sample(params, shape) / (6.0 * max(shape.seq_len, 1))


def state_bytes_per_worker(trial: TrialSpec, n_params: float) -> float:
    stage = trial.trainer.deepspeed.zero_stage if trial.trainer.resolved_engine == "deepspeed" else 0
    workers = trial.trainer.workers
    return sum(n_params * b / (workers if stage >= SHARDED_FROM_STAGE[part] else 1) for part, b in BYTES.items())


def check_model_memory(trials: list[TrialSpec], shapes: dict[tuple[str, str], DataShape],
                       node_memory: float) -> None:
    """Refuse the first trial whose training state per worker exceeds the largest node's memory."""
    if node_memory <= 0:
        return
    for trial in trials:
        n_params = estimated_parameters(trial, shapes[data_key(trial)])
        need = state_bytes_per_worker(trial, n_params)
        if need > node_memory:
            raise ClusterError(
                f"trial {trial.trial_id}: model {trial.model.family}/{trial.model.size} "
                f"{dict(trial.model.params) or ''} has about {n_params:.3g} parameters, whose training state "
                f"needs {need / 2**30:,.1f} GiB per worker, more than the {node_memory / 2**30:,.1f} GiB of the "
                f"largest Ray node; lower model.size/params (or shard it: trainer.deepspeed.zero_stage 3 over more "
                f"workers)")
