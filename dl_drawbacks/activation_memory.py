"""Activation memory of one training micro-batch: the tensors a forward pass saves for its backward pass.

A family with an analytic count (``ModelFamily.activation_bytes_per_sample``: mlp, gpt) gives bytes per sample,
times the micro-batch. Any other family (cnn, resnet, hf) is measured the way PyTorch's own memory tooling sees
saved activations: one forward pass and loss on the meta device (no memory, no time, any size) under
``torch.autograd.graph.saved_tensors_hooks``, summing the distinct storages autograd saves that are not
parameters (the same hook counts identical bytes on a real CPU model: tests/test_activation_memory.py), less
the attention scores the meta device's math kernel saves and fused attention does not (``saved_bytes``).
"""

from __future__ import annotations

import json
from typing import Any

from .models.base import DataShape, ModelFamily, resolve_params
from .registry import MODELS
from .spec.models import TrialSpec

ELEMENT_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}
_MEASURED: dict[str, float] = {}  # per (family, params, shape, batch, precision): a plan measures each once


def element_bytes(trial: TrialSpec) -> int:
    return ELEMENT_BYTES[trial.trainer.precision]


def activation_bytes(trial: TrialSpec, shape: DataShape) -> float:
    """Bytes of activations one worker holds for one micro-batch of this trial."""
    family: ModelFamily = MODELS.get(trial.model.family)
    params = resolve_params(trial.model.family, trial.model.size, dict(trial.model.params))
    batch, size = trial.trainer.micro_batch, element_bytes(trial)
    if family.activation_bytes_per_sample is not None:
        return batch * family.activation_bytes_per_sample(params, shape, size)
    key = json.dumps([family.name, params.model_dump(mode="json"), repr(shape), batch, size], sort_keys=True)
    if key not in _MEASURED:
        _MEASURED[key] = measured_saved_bytes(family, params, shape, batch, size)
    return _MEASURED[key]


def example_batch(shape: DataShape, batch: int, device: Any) -> tuple[Any, Any]:
    """Inputs and labels of ``batch`` samples as the trainer feeds them: token ids (B, T) with next-token labels,
    else flattened features (B, n_features) with one class label each."""
    import torch

    if shape.modality == "tokens":
        return (torch.zeros(batch, shape.seq_len, dtype=torch.long, device=device),
                torch.zeros(batch, shape.seq_len, dtype=torch.long, device=device))
    return (torch.zeros(batch, shape.n_features, device=device),
            torch.zeros(batch, dtype=torch.long, device=device))


def saved_bytes(model: Any, x: Any, y: Any, *, fused_attention: bool = False) -> float:
    """Bytes of the distinct non-parameter storages autograd saves during ``model``'s forward pass and loss.
    ``fused_attention`` leaves out attention-score matrices (..., T, T) of a token batch: the meta device runs
    attention through its math kernel, which saves them, where the fused kernels that train on CPU and GPU
    (Dao et al. 2022) never store them."""
    import torch

    from .train.evaluate import classification_loss

    params = {p.untyped_storage()._cdata for p in model.parameters()}
    saved: dict[int, int] = {}
    batch, t = x.shape[0], x.shape[-1]

    def is_scores(tensor: torch.Tensor) -> bool:  # (B, heads, T, T), or (B·heads, T, T) as bmm sees it
        return (fused_attention and tensor.dim() in (3, 4) and tuple(tensor.shape[-2:]) == (t, t)
                and (tensor.dim() == 4 or tensor.shape[0] != batch))

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage._cdata not in params and not is_scores(tensor):
            saved[storage._cdata] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        classification_loss(model(x), y)
    return float(sum(saved.values()))


def measured_saved_bytes(family: ModelFamily, params: Any, shape: DataShape, batch: int, size: int) -> float:
    """``saved_bytes`` of the family's model built on the meta device, in the trial's precision."""
    import torch

    dtype = {4: torch.float32, 2: torch.bfloat16}[size]
    with torch.device("meta"):
        model = family.build(params, shape).to(dtype)
    x, y = example_batch(shape, batch, "meta")
    return saved_bytes(model.train(), x.to(dtype) if x.is_floating_point() else x, y,
                       fused_attention=shape.modality == "tokens")
