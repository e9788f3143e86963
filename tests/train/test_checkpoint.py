"""A restored checkpoint continues every random stream a step may draw from (torch CPU, numpy's global,
Python's random; CUDA where a device is visible), so a restarted worker draws what an uninterrupted one
would; Ray Train is told how many checkpoints to keep."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest
import torch

from dl_drawbacks.train.checkpoint import KEEP_CHECKPOINTS, rng_state, set_rng_state


def _draws() -> tuple:
    return torch.rand(4).tolist(), np.random.rand(4).tolist(), [random.random() for _ in range(4)]


def test_restored_rng_state_repeats_every_stream():
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    saved = pickle.loads(pickle.dumps(rng_state()))  # as it travels in the checkpoint's rank<k>.pkl
    expected = _draws()
    _draws()  # the streams move on (the steps after the checkpoint, lost with the worker)
    set_rng_state(saved)
    assert _draws() == expected


def test_checkpoint_from_before_numpy_and_cuda_restores_torch_only():
    torch.manual_seed(2)
    old = {"rng": torch.get_rng_state()}
    expected = torch.rand(3).tolist()
    set_rng_state(old)
    assert torch.rand(3).tolist() == expected


def test_cuda_state_for_other_devices_is_refused_in_one_line():
    state = {**rng_state(), "cuda": [torch.zeros(16, dtype=torch.uint8)] * 3}
    if torch.cuda.is_available() and torch.cuda.device_count() == 3:
        pytest.skip("this machine has exactly 3 CUDA devices")
    with pytest.raises(RuntimeError, match="3 CUDA device"):
        set_rng_state(state)


@pytest.mark.gpu
def test_cuda_generator_is_saved_and_restored():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    torch.cuda.manual_seed_all(3)
    torch.rand(1, device="cuda")  # initialise CUDA
    saved = rng_state()
    assert len(saved["cuda"]) == torch.cuda.device_count()
    expected = torch.rand(4, device="cuda").tolist()
    torch.rand(4, device="cuda")
    set_rng_state(saved)
    assert torch.rand(4, device="cuda").tolist() == expected


def test_ray_train_keeps_a_bounded_number_of_checkpoints():
    import inspect

    from dl_drawbacks import trial

    assert KEEP_CHECKPOINTS >= 2  # the newest may be mid-upload when a worker dies
    assert "CheckpointConfig(num_to_keep=KEEP_CHECKPOINTS)" in inspect.getsource(trial._fit_torch_trainer)
