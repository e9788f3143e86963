"""FLOPs of one training step counted by PyTorch (FlopCounterMode), to cross-check the analytic count."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from .evaluate import classification_loss


def counted_train_flops(model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Forward + backward FLOPs of one batch as counted by FlopCounterMode (matmuls, SDPA).

    Runs on a copy so the real model's gradients and state stay untouched.
    """
    clone = copy.deepcopy(model).float()
    with FlopCounterMode(display=False) as counter:
        loss = classification_loss(clone(torch.as_tensor(x)), torch.as_tensor(y))
        loss.backward()
    return float(counter.get_total_flops())
