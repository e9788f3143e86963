"""A small GPT-style decoder (nanoGPT shape: pre-LN blocks, tied embeddings, SDPA attention)."""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn
from torch.nn import functional as F

from .base import DataShape, ModelFamily, register_family


class GPTParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    n_layer: int = Field(2, ge=1, description="transformer blocks")
    n_embd: int = Field(64, ge=8, description="model width")
    n_head: int = Field(2, ge=1, description="attention heads")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout")
    vocab_size: int | None = Field(None, ge=2, description="vocabulary (default: the data set's)")

    @model_validator(mode="after")
    def _heads_divide_width(self) -> "GPTParams":
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd {self.n_embd} is not divisible by n_head {self.n_head}")
        return self


class Block(nn.Module):
    def __init__(self, p: GPTParams) -> None:
        super().__init__()
        self.n_head = p.n_head
        self.ln1 = nn.LayerNorm(p.n_embd)
        self.qkv = nn.Linear(p.n_embd, 3 * p.n_embd)
        self.proj = nn.Linear(p.n_embd, p.n_embd)
        self.ln2 = nn.LayerNorm(p.n_embd)
        self.mlp = nn.Sequential(nn.Linear(p.n_embd, 4 * p.n_embd), nn.GELU(), nn.Linear(4 * p.n_embd, p.n_embd))
        self.dropout = p.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        drop = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=drop)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, p: GPTParams, shape: DataShape) -> None:
        super().__init__()
        vocab = p.vocab_size or shape.n_classes
        self.wte = nn.Embedding(vocab, p.n_embd)
        self.wpe = nn.Embedding(shape.seq_len, p.n_embd)
        self.blocks = nn.ModuleList(Block(p) for _ in range(p.n_layer))
        self.ln_f = nn.LayerNorm(p.n_embd)
        self.head = nn.Linear(p.n_embd, vocab, bias=False)
        self.head.weight = self.wte.weight  # weight tying (Press & Wolf 2017), as in GPT-2
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def gpt_param_count(p: GPTParams, shape: DataShape, *, include_position: bool = False) -> int:
    d, vocab = p.n_embd, p.vocab_size or shape.n_classes
    per_block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (4 * d * d + 4 * d) + (4 * d * d + d)
    n = vocab * d + p.n_layer * per_block + 2 * d
    return n + (shape.seq_len * d if include_position else 0)


def gpt_train_flops_per_sample(p: GPTParams, shape: DataShape) -> float:
    """Per sequence: T·(6N + 12·L·d·T), N without position embeddings (PaLM appendix B; nanoGPT estimate_mfu)."""
    t = shape.seq_len
    return t * (6.0 * gpt_param_count(p, shape) + 12.0 * p.n_layer * p.n_embd * t)


def gpt_activation_bytes_per_sample(p: GPTParams, shape: DataShape, element_bytes: int) -> float:
    """Per sequence: 17·T·d elements saved per block (Korthikanti et al. 2022, eq. 1: 34·s·b·h bytes at 2 bytes
    an element, without their attention-score term 5·a·s²·b, which fused attention (Dao et al. 2022; torch's
    scaled_dot_product_attention) does not store: both layer norms' inputs, the qkv, projection and MLP
    inputs, q, k, v, the attention output, GELU's input and output; this model's only dropout is inside the
    fused attention); then the final layer norm's and the head's inputs and the loss's fp32 log-probabilities
    (T·V·4 bytes)."""
    t, d, vocab = shape.seq_len, p.n_embd, p.vocab_size or shape.n_classes
    return p.n_layer * 17 * t * d * element_bytes + 2 * t * d * element_bytes + t * vocab * 4


GPT_FAMILY = register_family(
    ModelFamily(
        name="gpt",
        modalities=("tokens",),
        sizes={
            "nano": {"n_layer": 1, "n_embd": 32, "n_head": 2},
            "micro": {"n_layer": 2, "n_embd": 64, "n_head": 2},
            "mini": {"n_layer": 4, "n_embd": 128, "n_head": 4},
            "small": {"n_layer": 6, "n_embd": 256, "n_head": 4},
            "gpt2-small": {"n_layer": 12, "n_embd": 768, "n_head": 12, "vocab_size": 50304},
            "gpt2-medium": {"n_layer": 24, "n_embd": 1024, "n_head": 16, "vocab_size": 50304},
        },
        params=GPTParams,
        build=lambda p, shape: GPT(p, shape),
        train_flops_per_sample=gpt_train_flops_per_sample,
        description="GPT-style decoder (byte or token sequences)",
        activation_bytes_per_sample=gpt_activation_bytes_per_sample,
    )
)
