"""The training loop: no host syncs between log steps, counts of what was processed, one engine per spec."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import torch

import dl_drawbacks
from dl_drawbacks.plan import plan
from dl_drawbacks.spec import parse_spec
from dl_drawbacks.train import instruments as instruments_module
from dl_drawbacks.train.loop import LOG_EVERY
from dl_drawbacks.train.worker import run_worker

PACKAGE = str(Path(dl_drawbacks.__file__).parent)
SYNCS = ("item", "tolist", "__float__", "__bool__", "__int__")


def _spec(steps: int, **trainer) -> dict:
    return {"name": "loop", "version": 1, "tracking": {"mode": "disabled"}, "studies": [{
        "kind": "compute", "data": {"name": "digits"}, "model": {"family": "mlp", "size": "xs"},
        "trainer": {"micro_batch": 64,
                    "budget": {"steps": steps, "eval_every": steps, "warmup_steps": 2},
                    **trainer}}]}


def _trials(doc: dict) -> list:
    return list(plan(parse_spec(doc)))


def test_no_host_sync_from_our_code_between_log_steps(monkeypatch):
    calls: list[str] = []
    for name in SYNCS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            caller = inspect.currentframe().f_back.f_code.co_filename
            if caller.startswith(PACKAGE):
                calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    at_step: dict[int, int] = {}
    begins = instruments_module.Instruments.step_begins

    def record(self, step):
        at_step[step] = len(calls)
        begins(self, step)

    monkeypatch.setattr(instruments_module.Instruments, "step_begins", record)
    (trial,) = _trials(_spec(3 * LOG_EVERY))
    rows = run_worker(trial, "test")
    for step in range(1, 3 * LOG_EVERY - 1):
        synced = at_step[step + 1] - at_step[step]
        assert synced == (1 if step % LOG_EVERY == 0 else 0), (step, synced)  # one read of the pending losses
    losses = [s for m, sp, s in zip(rows["metric"], rows["split"], rows["step"]) if m == "loss" and sp == "train_batch"]
    assert losses == list(range(1, 3 * LOG_EVERY + 1))  # still one loss row per step


def test_samples_counted_are_samples_processed():
    doc = _spec(5)
    doc["studies"][0]["data"]["n_train"] = 40  # smaller than a micro-batch of 64: the whole 40 each step
    (trial,) = _trials(doc)
    rows = run_worker(trial, "test")
    scalar = {m: v for m, v, s in zip(rows["metric"], rows["value"], rows["step"]) if s is None}
    assert scalar["micro_batch_used"] == 40 and scalar["samples_total"] == 5 * 40
    assert scalar["gradient_clipping"] == 0.0
    assert scalar["samples_steady"] == 3 * 40  # steps after the 2 warm-up steps
    assert scalar["time_warmup"] > 0 and scalar["time_steady"] > 0 and scalar["time_eval"] > 0


def test_engine_is_fixed_across_a_workers_axis_when_the_spec_says_so():
    doc = _spec(5, engine="deepspeed")
    doc["studies"][0]["sweeps"] = [{"name": "n", "axes": {"trainer.workers": [1, 2]}}]
    assert [t.trainer.resolved_engine for t in _trials(doc)] == ["deepspeed", "deepspeed"]
    doc["studies"][0]["trainer"].pop("engine")
    assert [t.trainer.resolved_engine for t in _trials(doc)] == ["plain", "deepspeed"]
    assert [t.factors["engine"] for t in _trials(doc)] == ["auto", "auto"]  # the analysis resolves it the same way


def test_zero_on_one_worker_needs_the_deepspeed_engine():
    from dl_drawbacks.errors import SpecError

    with pytest.raises(SpecError, match="zero_stage > 0 needs workers >= 2 or engine deepspeed"):
        _trials(_spec(5, deepspeed={"zero_stage": 2}))
    (trial,) = _trials(_spec(5, engine="deepspeed", deepspeed={"zero_stage": 2}))
    assert trial.trainer.resolved_engine == "deepspeed"


def test_deepspeed_config_states_clipping_and_keeps_no_hidden_checks():
    from dl_drawbacks.train.engine import deepspeed_config

    (trial,) = _trials(_spec(5, engine="deepspeed", precision="bf16", deepspeed={"zero_stage": 2}))
    config = deepspeed_config(trial.trainer, 1, n_parameters=10_000)
    assert config["gradient_clipping"] == 0.0  # DeepSpeed's default is 1.0 (FACTS.md)
    assert config["bf16"]["check_grad_overflow"] is False and config["zero_optimization"]["compute_grad_norm"] is False
    (z3,) = _trials(_spec(5, engine="deepspeed", deepspeed={"zero_stage": 3}))
    zero3 = deepspeed_config(z3.trainer, 2, n_parameters=50_000_000)["zero_optimization"]
    assert zero3["stage3_param_persistence_threshold"] == 100_000 and zero3["stage3_prefetch_bucket_size"] > 0
