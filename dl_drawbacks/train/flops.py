"""FLOPs of one training step counted by PyTorch (FlopCounterMode), to cross-check the analytic count.

The model is rebuilt on the meta device: no memory, no time, and the same graph at any size. On CPU
tensors FlopCounterMode counts 0 FLOPs for ``scaled_dot_product_attention`` (FACTS.md); on meta, with
the math kernel, attention is counted as its matmuls (QK^T and AV, forward and backward).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from .evaluate import classification_loss

COUNTED_ON = "flop_counter:meta"  # provenance of the counted rows


def _dtype(array: np.ndarray) -> torch.dtype:
    return torch.from_numpy(np.zeros(0, dtype=array.dtype)).dtype


def counted_train_flops(build: Any, x: np.ndarray, y: np.ndarray) -> float:
    """Forward + backward FLOPs of one batch (matmuls, convolutions, attention) of the model ``build()`` makes."""
    with torch.device("meta"):
        model = build().float()
    x_meta = torch.empty(x.shape, dtype=_dtype(x), device="meta")
    y_meta = torch.empty(y.shape, dtype=_dtype(y), device="meta")
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        loss = classification_loss(model(x_meta), y_meta)
        loss.backward()
    return float(counter.get_total_flops())
