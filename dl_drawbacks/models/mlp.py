"""A multilayer perceptron for tabular data and flattened small images."""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from .base import DataShape, ModelFamily, register_family


class MLPParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    width: int = Field(64, ge=1, description="hidden units per layer")
    depth: int = Field(2, ge=0, description="hidden layers")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout after each hidden layer")
    activation: str = Field("relu", pattern="^(relu|gelu|tanh)$", description="relu, gelu or tanh")


class MLP(nn.Module):
    def __init__(self, p: MLPParams, shape: DataShape) -> None:
        super().__init__()
        act = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}[p.activation]
        layers: list[nn.Module] = [nn.Flatten()]
        width_in = shape.n_features
        for _ in range(p.depth):
            layers += [nn.Linear(width_in, p.width), act(), nn.Dropout(p.dropout)]
            width_in = p.width
        layers.append(nn.Linear(width_in, shape.n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def linear_weight_count(p: MLPParams, shape: DataShape) -> int:
    """Closed form (a `depth: 1e8` is counted without a list of its widths)."""
    if p.depth == 0:
        return shape.n_features * shape.n_classes
    return shape.n_features * p.width + (p.depth - 1) * p.width * p.width + p.width * shape.n_classes


def mlp_train_flops_per_sample(p: MLPParams, shape: DataShape) -> float:
    """Per sample: 2 FLOPs per weight forward, 2 for its gradient, 2 for the gradient of its layer's input
    (Kaplan et al. 2020, sec. 2.1: 6N) -- less the first layer's input gradient, which is never computed
    (the data needs none): 6N - 2·n_features·first_width. Biases and activations are not counted."""
    first_width = p.width if p.depth else shape.n_classes
    return 6.0 * linear_weight_count(p, shape) - 2.0 * shape.n_features * first_width


def mlp_activation_bytes_per_sample(p: MLPParams, shape: DataShape, element_bytes: int) -> float:
    """The tensors autograd saves for backward (PyTorch's derivatives.yaml), per sample: each linear layer's
    input; ReLU and tanh save their output (the next layer's input, the same tensor), GELU its input too;
    dropout its output and a one-byte mask; the loss its log-probabilities."""
    per_layer = p.width * (element_bytes * (2 if p.activation == "gelu" else 1)
                           + (element_bytes + 1 if p.dropout > 0 else 0))
    return element_bytes * shape.n_features + p.depth * per_layer + 4 * shape.n_classes


MLP_FAMILY = register_family(
    ModelFamily(
        name="mlp",
        modalities=("tabular", "image"),
        sizes={
            "xs": {"width": 32, "depth": 1},
            "s": {"width": 64, "depth": 2},
            "m": {"width": 128, "depth": 2},
            "l": {"width": 256, "depth": 3},
            "xl": {"width": 512, "depth": 3},
            "xxl": {"width": 1024, "depth": 4},
        },
        params=MLPParams,
        build=lambda p, shape: MLP(p, shape),
        train_flops_per_sample=mlp_train_flops_per_sample,
        description="multilayer perceptron (tabular data, flattened images)",
        activation_bytes_per_sample=mlp_activation_bytes_per_sample,
    )
)
