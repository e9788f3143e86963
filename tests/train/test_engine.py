"""The GPU hot path, checked on the CPU code paths it shares: DeepSpeed's timers off (no per-step device sync),
and evaluation that never recompiles the compiled training graph."""

from __future__ import annotations

import os

import pytest
import torch
import torch._dynamo

from dl_drawbacks.models import DataShape, resolve_params
from dl_drawbacks.models.mlp import MLP
from dl_drawbacks.plan import plan
from dl_drawbacks.spec import parse_spec
from dl_drawbacks.train.engine import DeepSpeedEngine, deepspeed_config


def _trainer(**deepspeed):
    doc = {"name": "engine", "version": 1, "tracking": {"mode": "disabled"}, "studies": [{
        "kind": "compute", "data": {"name": "digits"}, "model": {"family": "mlp", "size": "xs"},
        "trainer": {"engine": "deepspeed", "micro_batch": 16, "deepspeed": {**deepspeed}, "budget": {"steps": 2}}}]}
    (trial,) = plan(parse_spec(doc))
    return trial.trainer


def test_deepspeed_timers_are_off_in_the_config():
    config = deepspeed_config(_trainer(), 1, n_parameters=1000)
    assert config["wall_clock_breakdown"] is False
    assert config["timers"]["throughput"] == {"enabled": False, "synchronized": False}


@pytest.fixture
def cpu_accelerator(monkeypatch):
    monkeypatch.setitem(os.environ, "DS_ACCELERATOR", "cpu")


@pytest.mark.slow  # 4 s with DeepSpeed's ops built, 4 min while it builds them; the config test is the fast one
def test_deepspeed_engine_keeps_its_timer_off_and_evaluation_never_recompiles(cpu_accelerator):
    torch.manual_seed(0)
    model = MLP(resolve_params("mlp", "xs", {}), DataShape("image", 64, 10))
    ds = DeepSpeedEngine(model, _trainer(), torch.device("cpu"), 1)
    timer = ds.engine.tput_timer
    assert timer.config.enabled is False and timer.config.synchronized is False
    torch._dynamo.reset()
    ds.engine.compile(backend="eager")  # dynamo's capture without inductor's code generation: fast on a CPU
    x, y = torch.randn(16, 64), torch.randint(0, 10, (16,))
    for _ in range(2):
        ds.backward(ds.loss(x, y))
        ds.step()
    graphs = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    assert graphs >= 1
    with torch.no_grad():
        for batch in (16, 5):  # the evaluation signature (no labels) and a short last batch
            assert ds.forward(torch.randn(batch, 64)).shape == (batch, 10)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == graphs
