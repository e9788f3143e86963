"""FLOPs of one training step counted by PyTorch (FlopCounterMode), to cross-check the analytic count.

The model is rebuilt on the meta device: no memory, no time, and the same graph at any size. On CPU
tensors FlopCounterMode counts 0 FLOPs for ``scaled_dot_product_attention`` (FACTS.md); on meta, with
the math kernel, attention is counted as its matmuls (QK^T and AV, forward and backward).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from pathlib import Path
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


_COUNTED: dict[str, float] = {}  # this process's counts: a reused actor counts each model once


def _cache_file(key: str) -> Path:
    root = Path(os.environ.get("DL_DRAWBACKS_CACHE", Path.home() / ".cache" / "dl_drawbacks"))
    return root / "flops" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"


def _source_digest(function: Any) -> str:
    """The bytes of the module that defines ``function`` (a change of a family's code is a new count)."""
    try:
        path = inspect.getsourcefile(function)
    except TypeError:  # a built-in or C function: no source to follow
        return ""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16] if path else ""


def cached_train_flops(family: Any, params: Any, shape: Any, x: np.ndarray, y: np.ndarray) -> float:
    """``counted_train_flops`` of ``family.build(params, shape)`` once per (family and its code, parameters, data
    shape, batch shapes, torch): from this process's memo, else this node's cache file
    (``$DL_DRAWBACKS_CACHE/flops``), else counted and stored in both. A fresh worker process pays the first
    meta-device count (seconds) only for a model no process on its node has counted."""
    key = json.dumps({"family": family.name, "code": _source_digest(family.build), "shape": repr(shape),
                      "params": params.model_dump(mode="json"), "x": [list(x.shape), str(x.dtype)],
                      "y": [list(y.shape), str(y.dtype)], "torch": torch.__version__}, sort_keys=True)
    if key in _COUNTED:
        return _COUNTED[key]
    path = _cache_file(key)
    try:
        stored = json.loads(path.read_text())
        if stored.get("key") == key:
            _COUNTED[key] = float(stored["flops"])
            return _COUNTED[key]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # not counted on this node yet, or an unreadable file: count again
    flops = _COUNTED[key] = counted_train_flops(lambda: family.build(params, shape), x, y)
    try:
        from ..storage.files import atomic_write_json

        atomic_write_json(path, {"key": key, "flops": flops})
    except OSError:  # a read-only home: the memo still serves this process
        pass
    return flops
