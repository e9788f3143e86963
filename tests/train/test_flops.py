"""Counted FLOPs once per model and input shape: a process's memo, then the node's cache file."""

from __future__ import annotations

import numpy as np
import pytest

from dl_drawbacks.models.base import DataShape, resolve_params
from dl_drawbacks.plugins import load_plugins
from dl_drawbacks.registry import MODELS
from dl_drawbacks.train import flops


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DL_DRAWBACKS_CACHE", str(tmp_path))
    monkeypatch.setattr(flops, "_COUNTED", {})
    return tmp_path


def _mlp(size: str):
    load_plugins([])
    return MODELS.get("mlp"), resolve_params("mlp", size, {}), DataShape("tabular", 64, 10)


def test_a_model_is_counted_once_per_process_and_once_per_node(fresh_cache, monkeypatch):
    family, params, shape = _mlp("s")
    x, y = np.zeros((8, 64), np.float32), np.zeros(8, np.int64)
    counted = flops.counted_train_flops(lambda: family.build(params, shape), x, y)
    assert counted > 0
    assert flops.cached_train_flops(family, params, shape, x, y) == counted
    assert len(list((fresh_cache / "flops").glob("*.json"))) == 1

    def refuse(*args, **kwargs):
        raise AssertionError("counted again")

    monkeypatch.setattr(flops, "counted_train_flops", refuse)
    assert flops.cached_train_flops(family, params, shape, x, y) == counted  # this process's memo
    monkeypatch.setattr(flops, "_COUNTED", {})  # a fresh process on the same node: the cache file
    assert flops.cached_train_flops(family, params, shape, x, y) == counted
    with pytest.raises(AssertionError, match="counted again"):  # another batch shape is another count
        flops.cached_train_flops(family, params, shape, x[:4], y[:4])


def test_other_parameters_are_counted_not_read_from_the_cache(fresh_cache):
    family, small, shape = _mlp("xs")
    _, large, _ = _mlp("l")
    x, y = np.zeros((8, 64), np.float32), np.zeros(8, np.int64)
    a = flops.cached_train_flops(family, small, shape, x, y)
    b = flops.cached_train_flops(family, large, shape, x, y)
    assert b > a > 0
    assert b == flops.counted_train_flops(lambda: family.build(large, shape), x, y)
