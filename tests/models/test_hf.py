"""The hf family: a transformers architecture from a config, fresh weights, trained by the compute study."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from dl_drawbacks.cli import main
from dl_drawbacks.errors import SpecError
from dl_drawbacks.models import DataShape, count_parameters, resolve_params
from dl_drawbacks.models.hf import build_hf
from dl_drawbacks.plan import plan
from dl_drawbacks.spec import parse_spec
from dl_drawbacks.train.worker import run_worker

TOKENS = DataShape("tokens", 32, 256, seq_len=32)


def compute_spec(model: dict, data: dict) -> dict:
    return {"name": "hf", "version": 1, "tracking": {"mode": "disabled"}, "studies": [{
        "kind": "compute", "data": data, "model": model,
        "trainer": {"micro_batch": 8, "budget": {"steps": 4, "eval_every": 4, "warmup_steps": 1}}}]}


def test_gpt2_config_trains_in_the_compute_study_and_its_counted_flops_are_within_10_percent_of_palm():
    (trial,) = plan(parse_spec(compute_spec({"family": "hf", "size": "gpt2-nano"},
                                            {"name": "text_bytes", "options": {"seq_len": 32}})))
    rows = run_worker(trial, "test")
    flops = {p: v for m, v, p in zip(rows["metric"], rows["value"], rows["provenance"]) if m == "flops_per_sample"}
    assert 0.9 < flops["flop_counter:meta"] / flops["analytic"] < 1.1
    losses = [v for m, v, s in zip(rows["metric"], rows["value"], rows["split"]) if m == "loss" and s == "train_batch"]
    assert len(losses) == 4 and all(v == v for v in losses)
    assert losses[0] == pytest.approx(torch.log(torch.tensor(256.0)).item(), rel=0.1)  # fresh weights: ~uniform


def test_a_tabular_classifier_without_a_formula_is_timed_with_the_counted_figure():
    (trial,) = plan(parse_spec(compute_spec({"family": "hf", "size": "gpt2-nano"}, {"name": "german"})))
    rows = run_worker(trial, "test")
    provenance = {m: p for m, p in zip(rows["metric"], rows["provenance"]) if m in ("flops_per_sample", "flops_per_step")}
    assert provenance["flops_per_sample"] == "flop_counter:meta" and provenance["flops_per_step"] == "flop_counter:meta"
    assert sum(m == "flops_per_sample" for m in rows["metric"]) == 1  # no analytic row is made up


def test_a_local_config_json_builds_its_architecture(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": "llama", "hidden_size": 32, "intermediate_size": 64,
                                "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 2,
                                "vocab_size": 256}))
    model = build_hf(resolve_params("hf", "custom", {"config_path": str(path)}), TOKENS)
    assert type(model.model).__name__ == "LlamaForCausalLM"
    assert model(torch.zeros(2, 32, dtype=torch.long)).shape == (2, 32, 256)


@pytest.mark.parametrize(("params", "message"), [
    ({"config_class": "GPT3Config"}, "config_class 'GPT3Config' is not a transformers config class"),
    ({"config_class": "GPT2Config", "config": {"n_layers": 2}}, "GPT2Config has no argument(s) n_layers"),
    ({"config_path": "/nonexistent/config.json"}, "is not a file")])
def test_bad_configs_are_refused_with_one_line(params, message):
    with pytest.raises(SpecError, match="model.params") as err:
        resolve_params("hf", "custom", params)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_config_class_that_does_not_exist_is_exit_2_at_plan(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(compute_spec({"family": "hf", "size": "custom",
                                                 "params": {"config_class": "NoSuchConfig"}}, {"name": "text_bytes"})))
    assert main(["plan", str(spec)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "'NoSuchConfig' is not a transformers config class" in err


def test_vocabulary_follows_the_data_and_weights_are_fresh():
    a = build_hf(resolve_params("hf", "gpt2-nano", {}), TOKENS)
    torch.manual_seed(1)
    b = build_hf(resolve_params("hf", "gpt2-nano", {}), TOKENS)
    assert a.model.config.vocab_size == 256 and count_parameters(a) == count_parameters(b)
    assert not torch.equal(a.model.lm_head.weight, b.model.lm_head.weight)
