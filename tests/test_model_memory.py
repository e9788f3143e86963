"""A model whose training state cannot fit one node is refused before anything is built (model_memory.py)."""

from __future__ import annotations

import pytest

from dl_drawbacks.data import load_dataset
from dl_drawbacks.errors import ClusterError
from dl_drawbacks.model_memory import check_model_memory, data_key, data_shape, estimated_parameters
from dl_drawbacks.plan import plan
from dl_drawbacks.spec import parse_spec

GiB = 2**30


def _trials(params=None, **trainer):
    doc = {"name": "t", "version": 1, "tracking": {"mode": "disabled"},
           "studies": [{"kind": "compute", "model": {"family": "mlp", "size": "s", "params": params or {}},
                        "trainer": {"budget": {"steps": 2}, **trainer}}]}
    trials = plan(parse_spec(doc))
    return trials, {data_key(trials[0]): data_shape(load_dataset("digits", {}))}


def test_the_estimate_is_the_mlp_weight_count_within_a_few_percent():
    trials, shapes = _trials()
    exact = 64 * 64 + 64 * 64 + 64 * 10  # digits: 64 features, width 64, depth 2, 10 classes
    assert estimated_parameters(trials[0], shapes[data_key(trials[0])]) == pytest.approx(exact, rel=0.25)


def test_a_width_of_1e12_is_refused_naming_the_sizes():
    trials, shapes = _trials({"width": 10**12})
    with pytest.raises(ClusterError) as err:
        check_model_memory(trials, shapes, 64 * GiB)
    message = str(err.value)
    assert message.startswith(f"trial {trials[0].trial_id}: model mlp/s {{'width': 1000000000000}} has about 1e+24 ")
    assert "more than the 64.0 GiB of the largest Ray node" in message


def test_zero_3_over_more_workers_shards_the_state_until_it_fits():
    one, shapes = _trials({"width": 20_000})  # ~4e8 parameters: 6.0 GiB of state
    check_model_memory(one, shapes, 8 * GiB)
    with pytest.raises(ClusterError):
        check_model_memory(one, shapes, 4 * GiB)
    sharded, _ = _trials({"width": 20_000}, workers=4, engine="deepspeed", deepspeed={"zero_stage": 3})
    check_model_memory(sharded, shapes, 4 * GiB)
