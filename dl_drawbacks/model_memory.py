"""A trial whose model cannot fit one worker's node is refused before anything is built (a `width: 1e12` used
to plan and then die of memory inside its trial).

The parameter count is estimated from the family's analytic training FLOPs per sample: training costs about
6 FLOPs per parameter per token (Kaplan et al. 2020, §2.1), so N ≈ flops / (6 · tokens per sample). Training
state is 16 bytes per parameter with Adam (4 weights + 4 gradients + 8 moments; ZeRO, Rajbhandari et al. 2020,
§3.1, fp32 here); ZeRO stage 1 shards the moments over the workers, stage 2 the gradients too, stage 3 the
weights too. Activations of one micro-batch come from the family (activation_memory.py: analytic where a count
is standard, else measured on the meta device) and are added to the state.

`plan`, and `run` before it connects to Ray, check every trial against this machine's memory when the run is
local; a run with a cluster address checks against the largest node's memory once connected.
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
    """From the family's analytic FLOPs; a family without a formula for these parameters (an ``hf`` sequence
    classifier) is counted on the meta device."""
    family = MODELS.get(trial.model.family)
    params = resolve_params(trial.model.family, trial.model.size, dict(trial.model.params))
    flops = family.train_flops_per_sample(params, shape)
    if flops is not None:
        return flops / (6.0 * max(shape.seq_len, 1))
    import torch

    with torch.device("meta"):
        return float(sum(p.numel() for p in family.build(params, shape).parameters()))


def state_bytes_per_worker(trial: TrialSpec, n_params: float) -> float:
    stage = trial.trainer.deepspeed.zero_stage if trial.trainer.resolved_engine == "deepspeed" else 0
    workers = trial.trainer.workers
    return sum(n_params * b / (workers if stage >= SHARDED_FROM_STAGE[part] else 1) for part, b in BYTES.items())


def local_memory() -> float:
    """Bytes of memory of this machine: what a local run's workers share."""
    import psutil

    return float(psutil.virtual_memory().total)


def check_model_memory(trials: list[TrialSpec], shapes: dict[tuple[str, str], DataShape], node_memory: float, *,
                       where: str = "the largest Ray node") -> None:
    """Refuse the first trial whose training state per worker, or that state plus the activations of one
    micro-batch (activation_memory.py), exceeds ``node_memory`` (the memory of ``where``). The state is checked
    first, so that a model too large to describe is never built, not even on the meta device."""
    from .activation_memory import activation_bytes

    if node_memory <= 0:
        return
    checked = set()
    for trial in trials:
        key = (trial.model.model_dump_json(), data_key(trial), trial.trainer.model_dump_json())
        if key in checked:
            continue
        checked.add(key)
        shape = shapes[data_key(trial)]
        n_params = estimated_parameters(trial, shape)
        state = state_bytes_per_worker(trial, n_params)
        model = f"model {trial.model.family}/{trial.model.size} {dict(trial.model.params) or ''}"
        if state > node_memory:
            raise ClusterError(
                f"trial {trial.trial_id}: {model} has about {n_params:.3g} parameters, whose training state "
                f"needs {state / 2**30:,.1f} GiB per worker, more than the {node_memory / 2**30:,.1f} GiB of "
                f"{where}; lower model.size/params (or shard it: trainer.deepspeed.zero_stage 3 over more workers)")
        activations = activation_bytes(trial, shape)
        if state + activations > node_memory:
            raise ClusterError(
                f"trial {trial.trial_id}: {model} needs about {(state + activations) / 2**30:,.1f} GiB per worker "
                f"({state / 2**30:,.1f} GiB of training state for {n_params:.3g} parameters, "
                f"{activations / 2**30:,.1f} GiB of activations for a micro-batch of "
                f"{trial.trainer.micro_batch}), more than the {node_memory / 2**30:,.1f} GiB of {where}; "
                f"lower trainer.micro_batch (raise grad_accum to keep the batch) or the model's size")
