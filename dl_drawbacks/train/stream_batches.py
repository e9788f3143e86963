"""Batches of a split streamed through Ray Data (``StreamSplit``): the streamed counterpart of ``batches.py``.

Training iterates this rank's ``ray.data.DataIterator`` (its ``streaming_split`` shard under Ray Train, equal
across ranks; the whole split in a 1-worker trial) one pass per epoch, in full micro-batches (``drop_last``, the
same remainder policy as in-memory data), shuffled within a seeded local buffer after Ray Data's seeded block
order; evaluation reads the whole split in order.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from .context import StreamSplit

SHUFFLE_BUFFER = 1024  # samples in each rank's local shuffle buffer (Ray Data ``local_shuffle_buffer_size``)


def stream_micro_batches(
    split: StreamSplit, *, micro_batch: int, rank: int, seed: int, device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
    """Endless full (x, y, epoch) micro-batches of ``micro_batch`` samples from this rank's stream."""
    iterator = split.iterator()
    epoch = 0
    while True:
        shuffle_seed = int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])
        for batch in iterator.iter_torch_batches(
            batch_size=micro_batch, drop_last=True, local_shuffle_buffer_size=max(SHUFFLE_BUFFER, micro_batch),
            local_shuffle_seed=shuffle_seed, device=device,
        ):
            yield batch["x"], batch["y"], epoch
        epoch += 1


def stream_eval_batches(split: StreamSplit, batch: int,
                        device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Evaluation batches of the whole split in order; the last one may be short."""
    for part in split.iterator().iter_torch_batches(batch_size=batch, device=device):
        yield part["x"], part["y"]
