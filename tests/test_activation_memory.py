"""Activation memory per family (activation_memory.py): each estimate against what autograd saves on a real CPU
model, and the plan-time refusal of models that do not fit (model_memory.py, `dl-drawbacks plan`)."""

from __future__ import annotations

import pytest
import torch

from dl_drawbacks.activation_memory import example_batch, measured_saved_bytes, saved_bytes
from dl_drawbacks.cli import main
from dl_drawbacks.models.base import DataShape, resolve_params
from dl_drawbacks.registry import MODELS

SPEC = "tests/specs/tiny_submit.yaml"
SIGNALS = DataShape("image", 40, 10, image_shape=(1, 40))  # MNIST-1D
PICTURES = DataShape("image", 3 * 16 * 16, 10, image_shape=(3, 16, 16))
TOKENS = DataShape("tokens", 32, 64, seq_len=32)
TABLE = DataShape("tabular", 64, 10)
CASES = [("mlp", "s", {}, TABLE), ("mlp", "s", {"activation": "gelu", "dropout": 0.1}, TABLE),
         ("gpt", "micro", {}, TOKENS), ("cnn", "mnist1d", {}, SIGNALS),
         pytest.param("resnet", "resnet20", {}, PICTURES, marks=pytest.mark.slow)]


def _on_cpu(family: str, size: str, params: dict, shape: DataShape, batch: int) -> float:
    """What autograd saves for one real fp32 micro-batch on CPU (fused attention for token models)."""
    torch.manual_seed(0)
    model = MODELS.get(family).build(resolve_params(family, size, params), shape).train()
    x, y = example_batch(shape, batch, "cpu")
    return saved_bytes(model, x, y)


@pytest.mark.parametrize(("family", "size", "params", "shape"), CASES, ids=lambda c: str(c))
def test_each_familys_estimate_is_what_a_real_cpu_step_saves(family, size, params, shape):
    fam = MODELS.get(family)
    p = resolve_params(family, size, params)
    real = _on_cpu(family, size, params, shape, batch=4)
    if fam.activation_bytes_per_sample is not None:  # analytic: within 10%, and never below by more than that
        estimate = 4 * fam.activation_bytes_per_sample(p, shape, 4)
        assert estimate == pytest.approx(real, rel=0.10), (estimate, real)
    else:  # measured on the meta device: the same bytes
        assert measured_saved_bytes(fam, p, shape, 4, 4) == pytest.approx(real, rel=0.02)
    assert _on_cpu(family, size, params, shape, batch=8) == pytest.approx(2 * real, rel=0.05)  # linear in the batch


def test_the_meta_measurement_leaves_out_attention_scores_only():
    fam = MODELS.get("gpt")
    p = resolve_params("gpt", "micro", {})
    with torch.device("meta"):
        model = fam.build(p, TOKENS).train()
    x, y = example_batch(TOKENS, 4, "meta")
    fused, math = saved_bytes(model, x, y, fused_attention=True), saved_bytes(model, x, y)
    scores = 4 * p.n_head * TOKENS.seq_len ** 2 * 4  # one fp32 (B, heads, T, T) matrix
    assert math - fused >= p.n_layer * scores and (math - fused) % scores == 0  # score matrices, nothing else
    # near Korthikanti's count (the math kernel saves fewer inputs than a fused one: q, k, v and its output)
    assert fused == pytest.approx(4 * fam.activation_bytes_per_sample(p, TOKENS, 4), rel=0.25)


@pytest.mark.parametrize("override", ["studies[0].model.params.width=1000000000000",
                                      "studies[0].model.params.depth=100000000"])
def test_plan_refuses_a_model_the_machine_cannot_hold_in_one_line(override, capsys):
    assert main(["plan", SPEC, override]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: trial compute-") and err.count("\n") == 1, err
    assert "whose training state needs" in err and "GiB of this machine" in err


def test_plan_refuses_activations_that_do_not_fit_naming_the_micro_batch(capsys):
    wide = "studies[0].model.params.width=1000000"  # 1.2 GiB of training state: fits any machine that runs tests
    assert main(["plan", SPEC, wide, "studies[0].trainer.micro_batch=1000000"]) == 2  # 4 TB of activations
    err = capsys.readouterr().err
    assert " GiB of activations for a micro-batch of 1000000), more than the " in err and err.count("\n") == 1
    assert "lower trainer.micro_batch" in err
    assert main(["plan", SPEC, wide]) == 0  # the same model at its micro-batch of 32
