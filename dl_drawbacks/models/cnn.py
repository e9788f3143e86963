"""Convolutional nets of the small-scale literature, sized by width (channels) and depth (conv layers).

1-D input (``image_shape`` (C, L), e.g. MNIST-1D): the MNIST-1D paper's CNN (Greydanus 2020,
github greydanus/mnist1d ``ConvBase``): conv k5 s2 p1, then k3 s2 p1 convs, ``width`` channels each,
ReLU after each, flattened into one linear layer (40 -> 19 -> 10 -> 5 positions; 25·5 = 125 -> 10).
2-D input (C, H, W), small images: LeNet-5 style (LeCun et al. 1998): ``depth`` blocks of conv k5
("same" padding) + ReLU + 2x2 max-pool, channels ``width``·2^i, then fully connected layers
``fc_widths`` with ReLU (LeNet-5: 6 -> 16 channels, 120 -> 84; here 6 -> 12 at ``width`` 6).
"""

from __future__ import annotations

import math

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from .base import DataShape, ModelFamily, register_family


class CNNParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    width: int = Field(25, ge=1, description="channels of each conv layer (2-D: of the first, doubling per block)")
    depth: int = Field(3, ge=1, le=8, description="conv layers (1-D) or conv + pool blocks (2-D)")
    fc_widths: tuple[int, ...] = Field((), description="hidden fully connected layers after the convs")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout before each fully connected layer")


def _conv_shapes(p: CNNParams, shape: DataShape) -> list[tuple[int, int, int, tuple[int, ...]]]:
    """Per conv layer: (in channels, out channels, kernel, output spatial size) for this input."""
    assert shape.image_shape is not None and len(shape.image_shape) in (2, 3), shape.image_shape
    channels, *spatial = shape.image_shape
    layers = []
    for i in range(p.depth):
        if len(spatial) == 1:  # MNIST-1D ConvBase: k5 then k3, stride 2, padding 1
            k = 5 if i == 0 else 3
            spatial = [(spatial[0] + 2 - k) // 2 + 1]
            out = p.width
        else:  # LeNet-style block: "same" k5 conv (output size kept), then 2x2 pool where it fits
            k, out = 5, p.width * 2**i
        layers.append((channels, out, k, tuple(spatial)))
        spatial = list(_pooled(tuple(spatial)))
        channels = out
    return layers


def _pooled(spatial: tuple[int, ...]) -> tuple[int, ...]:
    """Size after a LeNet block's 2x2 max-pool (none on 1-D or where a side is 1)."""
    return tuple(s // 2 for s in spatial) if len(spatial) == 2 and min(spatial) >= 2 else spatial


def _flat_features(p: CNNParams, shape: DataShape) -> int:
    *_, (_, out, _, spatial) = _conv_shapes(p, shape)
    return out * math.prod(_pooled(spatial))


class CNN(nn.Module):
    def __init__(self, p: CNNParams, shape: DataShape) -> None:
        super().__init__()
        if shape.image_shape is None or len(shape.image_shape) not in (2, 3):
            raise ValueError(f"the cnn family needs 1-D (C, L) or 2-D (C, H, W) inputs, not {shape.image_shape}")
        self.image_shape = shape.image_shape
        one_d = len(shape.image_shape) == 2
        layers: list[nn.Module] = []
        for c_in, c_out, k, out_size in _conv_shapes(p, shape):
            if one_d:
                layers += [nn.Conv1d(c_in, c_out, k, stride=2, padding=1), nn.ReLU()]
            else:
                layers += [nn.Conv2d(c_in, c_out, k, padding=2), nn.ReLU()]
                if _pooled(out_size) != out_size:
                    layers.append(nn.MaxPool2d(2))
        layers.append(nn.Flatten())
        width_in = _flat_features(p, shape)
        for width in p.fc_widths:
            layers += [nn.Dropout(p.dropout), nn.Linear(width_in, width), nn.ReLU()]
            width_in = width
        layers += [nn.Dropout(p.dropout), nn.Linear(width_in, shape.n_classes)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.view(len(x), *self.image_shape))


def cnn_train_flops_per_sample(p: CNNParams, shape: DataShape) -> float:
    """Per sample: 6 FLOPs per weight use (Kaplan et al. 2020, sec. 2.1, with a conv weight used once per
    output position: 2 forward, 2 weight gradient, 2 input gradient), less the input gradient of the first
    layer, which is never computed. Biases, activations and pooling are not counted."""
    uses = []
    for c_in, c_out, k, out_size in _conv_shapes(p, shape):
        uses.append(c_in * c_out * k ** len(out_size) * math.prod(out_size))
    widths = [_flat_features(p, shape), *p.fc_widths, shape.n_classes]
    uses += [a * b for a, b in zip(widths[:-1], widths[1:])]
    return 6.0 * sum(uses) - 2.0 * uses[0]


CNN_FAMILY = register_family(
    ModelFamily(
        name="cnn",
        modalities=("image",),
        sizes={
            "mnist1d": {"width": 25, "depth": 3},
            "lenet5": {"width": 6, "depth": 2, "fc_widths": (120, 84)},
            "xs": {"width": 4},
            "s": {"width": 8},
            "m": {"width": 16},
            "l": {"width": 32},
            "xl": {"width": 64},
            "xxl": {"width": 128},
        },
        params=CNNParams,
        build=lambda p, shape: CNN(p, shape),
        train_flops_per_sample=cnn_train_flops_per_sample,
        description="convolutional net: MNIST-1D paper CNN on 1-D signals, LeNet-5 style on small images",
    )
)
