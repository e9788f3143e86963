"""Analytic parameter and FLOP counts against PyTorch's own counts."""

from __future__ import annotations

import numpy as np
import pytest

from dl_drawbacks.models import DataShape, count_parameters, resolve_params
from dl_drawbacks.models.gpt import GPT, gpt_param_count, gpt_train_flops_per_sample
from dl_drawbacks.models.mlp import MLP, linear_weight_count, mlp_train_flops_per_sample
from dl_drawbacks.train.flops import counted_train_flops


@pytest.mark.parametrize("size", ["nano", "micro", "mini"])
def test_gpt_flops_match_flop_counter(size):
    shape = DataShape("tokens", 32, 256, seq_len=32)
    p = resolve_params("gpt", size, {})
    model = GPT(p, shape)
    assert gpt_param_count(p, shape, include_position=True) == count_parameters(model)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (4, 32))
    counted = counted_train_flops(lambda: GPT(p, shape), x, rng.integers(0, 256, (4, 32))) / 4
    analytic = gpt_train_flops_per_sample(p, shape)
    # Counted on the meta device, attention included (its 12·L·d·T per token); only the embedding
    # lookup's backward (a scatter), biases and norms are uncounted: within 10% of 6N + 12·L·d·T.
    assert 0.9 < counted / analytic < 1.02


def test_gpt_flop_count_includes_attention():
    """The 12·L·d·T² attention term is what a CPU count misses (FlopCounterMode sees 0 FLOPs in CPU SDPA)."""
    p = resolve_params("gpt", "nano", {})
    short, long = DataShape("tokens", 16, 256, seq_len=16), DataShape("tokens", 256, 256, seq_len=256)
    rng = np.random.default_rng(0)
    per_token = []
    for shape in (short, long):
        x = rng.integers(0, 256, (2, shape.seq_len))
        per_token.append(counted_train_flops(lambda: GPT(p, shape), x, x) / (2 * shape.seq_len))
    attention_growth = 12 * p.n_layer * p.n_embd * (long.seq_len - short.seq_len)
    assert per_token[1] - per_token[0] == pytest.approx(attention_growth, rel=0.01)


def test_flop_count_of_a_large_model_needs_no_memory():
    """gpt2-small at T=1024 is counted on the meta device in seconds (a CPU copy took minutes and ~13 GB)."""
    import time

    p = resolve_params("gpt", "gpt2-small", {})
    shape = DataShape("tokens", 1024, 256, seq_len=1024)
    x = np.zeros((2, 1024), dtype=np.int64)
    t0 = time.perf_counter()
    counted = counted_train_flops(lambda: GPT(p, shape), x, x) / 2
    assert time.perf_counter() - t0 < 20
    assert 0.9 < counted / gpt_train_flops_per_sample(p, shape) < 1.02


@pytest.mark.parametrize("size", ["xs", "m", "l"])
def test_mlp_flops_match_flop_counter_exactly_up_to_first_layer_input_grad(size):
    shape = DataShape("image", 64, 10)
    p = resolve_params("mlp", size, {})
    model = MLP(p, shape)
    x = np.random.default_rng(0).normal(size=(8, 64)).astype(np.float32)
    counted = counted_train_flops(lambda: MLP(p, shape), x, np.zeros(8, dtype=np.int64)) / 8
    # 6 FLOPs per weight, except that no gradient flows into the input: 2·d_in·width fewer, which the
    # analytic count leaves out too (MFU would otherwise be inflated by the work never done).
    assert counted == mlp_train_flops_per_sample(p, shape)
    assert mlp_train_flops_per_sample(p, shape) == 6 * linear_weight_count(p, shape) - 2 * 64 * p.width
    assert linear_weight_count(p, shape) <= count_parameters(model)
