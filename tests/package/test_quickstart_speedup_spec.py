"""benchmarks/quickstart_speedup.py runs an older commit's quickstart spec with today's code: the keys today's
code renamed are rewritten (values kept) and the values it refuses are raised, never lowered, and today's planner
accepts the result (a schema change that breaks the comparison fails here, not an hour into the benchmark)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from dl_drawbacks.plan import plan_suite
from dl_drawbacks.spec.load import parse_spec

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "quickstart_speedup.py"

OLD_STYLE = {  # how ec96deb's quickstart wrote these settings
    "name": "old", "version": 1, "tracking": {"mode": "disabled"},
    "studies": [
        {"kind": "compute", "data": {"name": "digits"}, "model": {"family": "mlp", "size": "xs"},
         "trainer": {"deepspeed": {"micro_batch": 64}, "budget": {"steps": 4, "eval_every": 2}},
         "sweeps": [{"name": "precision", "axes": {"trainer.deepspeed.precision": ["bf16"]}},
                    {"name": "mb", "axes": {"trainer.deepspeed.micro_batch": [16, 32]}}]},
        {"kind": "hparams", "data": {"name": "digits", "n_train": 200}, "model": {"family": "mlp", "size": "xs"},
         "trainer": {"deepspeed": {"micro_batch": 64}, "budget": {"epochs": 2}},
         "analysis": {"n_trials": 4, "variance_configs": 3, "seeds": [1, 2]}},
    ],
}


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("quickstart_speedup", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_old_spec_is_rewritten_to_one_today_s_planner_accepts(bench):
    with pytest.raises(Exception):
        plan_suite(parse_spec(OLD_STYLE))  # as written then, today's code refuses it
    spec, rewritten = bench.todays_spec(OLD_STYLE)
    compute, hparams = spec["studies"]
    assert compute["trainer"] == {"micro_batch": 64, "budget": {"steps": 4, "eval_every": 2}}
    assert compute["sweeps"][0]["axes"] == {"trainer.precision": ["bf16"]}
    assert compute["sweeps"][1]["axes"] == {"trainer.micro_batch": [16, 32]}
    assert hparams["analysis"]["variance_configs"] == 20  # raised to the least accepted: today does more, not less
    assert "hparams analysis.variance_configs 3 -> 20" in rewritten
    assert OLD_STYLE["studies"][0]["trainer"]["deepspeed"] == {"micro_batch": 64}  # the base's spec is untouched
    assert sum(len(s.trials) for s in plan_suite(parse_spec(spec))) > 0
