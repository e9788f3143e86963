"""Batches for one worker: its shard of the training split, reshuffled each epoch by seed.

Every training micro-batch is full: the remainder of a shard that does not divide into micro-batches
is dropped each epoch (``REMAINDER_POLICY``; a different random remainder every epoch), and a shard
smaller than one micro-batch is used whole, so the samples counted per step are the samples processed
and a compiled model sees one shape per trial. The split is
moved to the trial's device once (pinned host memory with non-blocking copies if it does not fit).
A split streamed through Ray Data (``StreamSplit``) is batched by ``stream_batches.py`` under the same rules.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from .context import Split, StreamSplit
from .stream_batches import stream_eval_batches, stream_micro_batches

REMAINDER_POLICY = "drop"  # recorded in the rows (metric batch_remainder)
DEVICE_FRACTION = 0.25  # a split moves to the GPU when it takes at most this share of its free memory


def shard_size(n_train: int, world_size: int) -> int:
    return n_train // world_size


def effective_micro_batch(n_train: int, micro_batch: int, world_size: int) -> int:
    """Samples per micro-batch actually used: ``micro_batch``, or the whole shard when it is smaller."""
    shard = shard_size(n_train, world_size)
    if shard < 1:
        raise ValueError(f"data.n_train: {n_train} training samples cannot be split over {world_size} workers")
    return min(micro_batch, shard)


def steps_per_epoch(n_train: int, micro_batch: int, grad_accum: int, world_size: int) -> int:
    """Full optimizer steps in one pass over a shard (remainder dropped; at least one)."""
    per_shard = shard_size(n_train, world_size) // effective_micro_batch(n_train, micro_batch, world_size)
    return max(1, per_shard // grad_accum)


def remainder_per_epoch(n_train: int, micro_batch: int, world_size: int) -> int:
    """Samples of each rank's shard left out of every epoch (all ranks drop the same count)."""
    return shard_size(n_train, world_size) % effective_micro_batch(n_train, micro_batch, world_size)


def resident(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """``array`` as a tensor on ``device`` when it fits, else in pinned host memory (copied per batch)."""
    tensor = torch.tensor(np.asarray(array))  # one copy: the loaded arrays may be read-only
    if device.type != "cuda":
        return tensor
    free, _ = torch.cuda.mem_get_info(device)
    if tensor.numel() * tensor.element_size() <= DEVICE_FRACTION * free:
        return tensor.to(device)
    return tensor.pin_memory()


def _take(data: torch.Tensor, idx: torch.Tensor, device: torch.device) -> torch.Tensor:
    if data.device == device:
        return data.index_select(0, idx.to(device, non_blocking=True))
    return data.index_select(0, idx).pin_memory().to(device, non_blocking=True)


def micro_batches(
    split: Split | StreamSplit, *, micro_batch: int, rank: int, world_size: int, seed: int, device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
    """Endless full (x, y, epoch) micro-batches of this rank's shard; every rank sees the same count."""
    if isinstance(split, StreamSplit):
        micro = effective_micro_batch(len(split), micro_batch, world_size)
        return stream_micro_batches(split, micro_batch=micro, rank=rank, seed=seed, device=device)
    return _array_micro_batches(split, micro_batch=micro_batch, rank=rank, world_size=world_size, seed=seed,
                                device=device)


def _array_micro_batches(
    split: Split, *, micro_batch: int, rank: int, world_size: int, seed: int, device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
    x, y = resident(split.x, device), resident(split.y, device)
    for idx, epoch in _batch_indices(len(split), micro_batch=micro_batch, rank=rank, world_size=world_size, seed=seed):
        index = torch.from_numpy(idx)
        yield _take(x, index, device), _take(y, index, device), epoch


def micro_batch_weights(
    split: Split, *, micro_batch: int, rank: int, world_size: int, seed: int, device: torch.device
) -> Iterator[torch.Tensor] | None:
    """The per-sample weights of the micro-batches ``micro_batches`` yields, in the same order; None when unweighted."""
    if split.weights is None:
        return None
    weights = resident(split.weights, device)
    batches = _batch_indices(len(split), micro_batch=micro_batch, rank=rank, world_size=world_size, seed=seed)
    return (_take(weights, torch.from_numpy(idx), device) for idx, _ in batches)


def _batch_indices(n: int, *, micro_batch: int, rank: int, world_size: int,
                   seed: int) -> Iterator[tuple[np.ndarray, int]]:
    shard = shard_size(n, world_size)
    micro_batch = effective_micro_batch(n, micro_batch, world_size)
    full = shard - shard % micro_batch
    epoch = 0
    while True:
        order = np.random.default_rng([seed, epoch]).permutation(n)[rank * shard : (rank + 1) * shard]
        for start in range(0, full, micro_batch):
            yield order[start : start + micro_batch], epoch
        epoch += 1


def eval_batches(split: Split | StreamSplit, batch: int,
                 device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Evaluation batches in order; the last one may be short (evaluation counts every sample)."""
    if isinstance(split, StreamSplit):
        return stream_eval_batches(split, batch, device)
    return _array_eval_batches(split, batch, device)


def _array_eval_batches(split: Split, batch: int, device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    for start in range(0, len(split), batch):
        yield (
            torch.tensor(split.x[start : start + batch], device=device),
            torch.tensor(split.y[start : start + batch], device=device),
        )
