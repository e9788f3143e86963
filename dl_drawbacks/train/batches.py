"""Batches for one worker: its shard of the training split, reshuffled each epoch by seed."""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np
import torch

from .context import Split


def steps_per_epoch(n_train: int, micro_batch: int, grad_accum: int, world_size: int) -> int:
    shard = n_train // world_size
    return max(1, math.ceil(shard / (micro_batch * grad_accum)))


def micro_batches(
    split: Split, *, micro_batch: int, rank: int, world_size: int, seed: int, device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
    """Endless (x, y, epoch) micro-batches of this rank's shard; every rank sees the same count."""
    for idx, epoch in _batch_indices(len(split), micro_batch=micro_batch, rank=rank, world_size=world_size, seed=seed):
        yield torch.as_tensor(split.x[idx], device=device), torch.as_tensor(split.y[idx], device=device), epoch


def micro_batch_weights(
    split: Split, *, micro_batch: int, rank: int, world_size: int, seed: int, device: torch.device
) -> Iterator[torch.Tensor] | None:
    """The per-sample weights of the micro-batches ``micro_batches`` yields, in the same order; None when unweighted."""
    if split.weights is None:
        return None
    batches = _batch_indices(len(split), micro_batch=micro_batch, rank=rank, world_size=world_size, seed=seed)
    return (torch.as_tensor(split.weights[idx], device=device) for idx, _ in batches)


def _batch_indices(n: int, *, micro_batch: int, rank: int, world_size: int, seed: int) -> Iterator[tuple[np.ndarray, int]]:
    shard = n // world_size
    epoch = 0
    while True:
        order = np.random.default_rng([seed, epoch]).permutation(n)[rank * shard : (rank + 1) * shard]
        for start in range(0, shard, micro_batch):
            yield order[start : start + micro_batch], epoch
        epoch += 1


def eval_batches(split: Split, batch: int, device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    for start in range(0, len(split), batch):
        yield (
            torch.tensor(split.x[start : start + batch], device=device),
            torch.tensor(split.y[start : start + batch], device=device),
        )
