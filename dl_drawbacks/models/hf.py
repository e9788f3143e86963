"""Any Hugging Face ``transformers`` architecture, built from a config with fresh weights (nothing downloaded).

The config is a class of ``transformers`` and its arguments (``config_class: GPT2Config``, ``config: {n_layer:
2, ...}``) or a local ``config.json`` (``config_path``). Tokens train the architecture's causal LM
(``AutoModelForCausalLM``); tabular data its sequence classifier (``AutoModelForSequenceClassification``), each
feature one input token as in FT-Transformer's feature tokenizer (Gorishniy et al. 2021: token_i = x_i·W_i + b_i).
FLOPs: for causal LMs the PaLM appendix B estimate T·(6N + 12·L·d·T) (N: weights outside embedding tables,
plus the output head, read off the model built on the meta device), as for ``gpt``; for classifiers no
formula, so the trial uses the counted figure. ``transformers`` is an optional extra (``pip install
'dl-drawbacks[hf]'``); ``HF_HUB_OFFLINE=1`` is set before it is imported.
"""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from .base import DataShape, ModelFamily, register_family


def _transformers() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever downloaded: configs only, fresh weights
    try:
        import transformers
    except ImportError:
        raise ValueError("the hf family needs transformers: pip install 'dl-drawbacks[hf]'") from None
    return transformers


def _config_keys(cls: Any) -> set[str]:
    """Arguments a config class understands: its signature, its defaults and its attribute aliases."""
    return (set(inspect.signature(cls.__init__).parameters) | set(cls().to_dict())
            | set(getattr(cls, "attribute_map", {}))) - {"self", "kwargs"}


class HFParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    config_class: str | None = Field(None, description="a transformers config class, e.g. GPT2Config, BertConfig")
    config: dict[str, Any] = Field(default_factory=dict, description="arguments of the config class")
    config_path: str | None = Field(None, description="a local config.json (instead of config_class)")

    @model_validator(mode="after")
    def _config_exists(self) -> "HFParams":
        if (self.config_class is None) == (self.config_path is None):
            raise ValueError("give exactly one of config_class (with config) or config_path")
        if self.config_path is not None:
            if self.config:
                raise ValueError("config arguments go into the config.json of config_path, not config")
            path = Path(self.config_path)
            if not path.is_file():
                raise ValueError(f"config_path {self.config_path!r} is not a file; give a local config.json")
            if "model_type" not in json.loads(path.read_text()):
                raise ValueError(f"config_path {self.config_path!r} has no model_type; is it a transformers config?")
            return self
        cls = getattr(_transformers(), self.config_class, None)
        if not (isinstance(cls, type) and issubclass(cls, _transformers().PretrainedConfig)):
            raise ValueError(f"config_class {self.config_class!r} is not a transformers config class "
                             "(e.g. GPT2Config, LlamaConfig, BertConfig)")
        unknown = sorted(set(self.config) - _config_keys(cls))
        if unknown:
            raise ValueError(f"config: {self.config_class} has no argument(s) {', '.join(unknown)}")
        return self


def build_config(p: HFParams, shape: DataShape) -> Any:
    """The transformers config; a token model's vocabulary defaults to the data set's."""
    tf = _transformers()
    if p.config_path is not None:
        args = json.loads(Path(p.config_path).read_text())
        config = tf.AutoConfig.for_model(args.pop("model_type"), **args)
    else:
        config = getattr(tf, p.config_class)(**p.config)
    if shape.modality == "tokens" and "vocab_size" not in (p.config or {}) and p.config_path is None:
        config.vocab_size = shape.n_classes
    if shape.modality == "tabular":
        config.num_labels = shape.n_classes
        if config.pad_token_id is None:
            config.pad_token_id = 0  # rows are never padded; the classifier needs one to pick the last token
    return config


class CausalLM(nn.Module):
    """A transformers causal LM returning logits (batch, T, vocab)."""

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.model = _transformers().AutoModelForCausalLM.from_config(config)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=idx).logits


class TabularClassifier(nn.Module):
    """A transformers sequence classifier over feature tokens (FT-Transformer's feature tokenizer)."""

    def __init__(self, config: Any, n_features: int) -> None:
        super().__init__()
        self.model = _transformers().AutoModelForSequenceClassification.from_config(config)
        d = self.model.get_input_embeddings().embedding_dim
        self.weight = nn.Parameter(torch.randn(n_features, d) * 0.02)
        self.bias = nn.Parameter(torch.zeros(n_features, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(inputs_embeds=x.unsqueeze(-1) * self.weight + self.bias).logits


def build_hf(p: HFParams, shape: DataShape) -> nn.Module:
    config = build_config(p, shape)
    return CausalLM(config) if shape.modality == "tokens" else TabularClassifier(config, shape.n_features)


def matmul_weights(model: nn.Module) -> int:
    """Weights outside embedding tables (lookups cost no FLOPs), plus the output head's if it is tied to one."""
    embedded = {id(p) for m in model.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
    n = sum(p.numel() for p in model.parameters() if id(p) not in embedded)
    head = model.get_output_embeddings()
    return n + (head.weight.numel() if head is not None and id(head.weight) in embedded else 0)


def hf_train_flops_per_sample(p: HFParams, shape: DataShape) -> float | None:
    """Causal LM, per sequence: T·(6N + 12·L·d·T) (PaLM appendix B; nanoGPT estimate_mfu); classifiers: None."""
    if shape.modality != "tokens":
        return None
    config = build_config(p, shape)
    with torch.device("meta"):
        model = _transformers().AutoModelForCausalLM.from_config(config)
    t = shape.seq_len
    return t * (6.0 * matmul_weights(model) + 12.0 * config.num_hidden_layers * config.hidden_size * t)


HF_FAMILY = register_family(
    ModelFamily(
        name="hf",
        modalities=("tokens", "tabular"),
        sizes={
            "custom": {},  # config_class + config, or config_path, all in model.params
            "gpt2-nano": {"config_class": "GPT2Config",
                          "config": {"n_layer": 1, "n_head": 2, "n_embd": 32, "n_positions": 256}},
            "gpt2-micro": {"config_class": "GPT2Config",
                           "config": {"n_layer": 2, "n_head": 2, "n_embd": 64, "n_positions": 256}},
            "gpt2-small": {"config_class": "GPT2Config", "config": {}},
            "bert-tiny": {"config_class": "BertConfig",
                          "config": {"num_hidden_layers": 2, "num_attention_heads": 2, "hidden_size": 128,
                                     "intermediate_size": 512}},
        },
        params=HFParams,
        build=build_hf,
        train_flops_per_sample=hf_train_flops_per_sample,
        description="any Hugging Face transformers architecture from a config (causal LM on tokens, "
                    "sequence classifier on tabular), fresh weights",
    )
)
