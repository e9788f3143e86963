"""Training batches are full and of one shape; what a step counts is what it processed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dl_drawbacks.train.batches import (effective_micro_batch, micro_batch_weights, micro_batches, remainder_per_epoch,
                                        steps_per_epoch)
from dl_drawbacks.train.context import Split


def _split(n: int) -> Split:
    return Split(np.arange(n, dtype=np.float32)[:, None], np.arange(n), weights=np.arange(n, dtype=np.float32))


@pytest.mark.parametrize(("world", "micro", "shapes", "dropped"), [(1, 16, 16, 5), (4, 16, 9, 0), (2, 8, 8, 2)])
def test_text_bytes_windows_give_full_batches_only(world, micro, shapes, dropped):
    """37 windows (text_bytes at T=1024): 16,16 and 5 dropped on 1 rank; the 9-window shard whole on 4."""
    split = _split(37)
    assert effective_micro_batch(37, micro, world) == shapes and remainder_per_epoch(37, micro, world) == dropped
    per_epoch = (37 // world) // shapes
    assert steps_per_epoch(37, micro, 1, world) == per_epoch
    for rank in range(world):
        stream = micro_batches(split, micro_batch=micro, rank=rank, world_size=world, seed=3,
                               device=torch.device("cpu"))
        weights = micro_batch_weights(split, micro_batch=micro, rank=rank, world_size=world, seed=3,
                                      device=torch.device("cpu"))
        seen = [next(stream) for _ in range(per_epoch * 3)]
        assert {tuple(x.shape) for x, _, _ in seen} == {(shapes, 1)}  # one compiled shape per trial
        assert [e for _, _, e in seen] == [e for e in range(3) for _ in range(per_epoch)]
        for x, y, _ in seen:  # rows stay aligned, and the weights with them
            assert torch.equal(x[:, 0].long(), y) and torch.equal(next(weights).long(), y)


def test_an_epoch_uses_distinct_samples_and_a_new_remainder_each_time():
    split = _split(37)
    stream = micro_batches(split, micro_batch=16, rank=0, world_size=1, seed=0, device=torch.device("cpu"))
    epochs = [torch.cat([next(stream)[1] for _ in range(2)]) for _ in range(4)]
    assert all(len(set(e.tolist())) == 32 for e in epochs)
    left_out = [frozenset(range(37)) - frozenset(e.tolist()) for e in epochs]
    assert len(set(left_out)) > 1
