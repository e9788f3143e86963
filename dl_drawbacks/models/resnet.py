"""Residual networks (He et al. 2016, "Deep Residual Learning for Image Recognition"), written here so that
torchvision is never needed (its CPU wheel does not import against the local torch: FACTS.md).

``style: cifar`` (paper sec. 4.2): depth 6n+2 (20, 32, 56, 110): a 3x3 conv of 16 channels, three stages of
n basic blocks at 16, 32, 64 channels (stride 2 into stages 2 and 3), global average pool, linear;
shortcuts are identities, zero-padded in channels and subsampled where the shape changes (option A).
``style: imagenet`` (paper table 1): depth 18/34 (basic blocks) or 50 (bottlenecks, expansion 4): a 7x7
stride-2 stem + 3x3 max-pool, four stages at 64-512 channels, 1x1 projection shortcuts (option B).
``width`` multiplies every channel count (wide ResNets, Zagoruyko & Komodakis 2016). A 1-D input
(C, L) gets the same network with 1-D convolutions.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn
from torch.nn import functional as F

from .base import DataShape, ModelFamily, register_family

IMAGENET_BLOCKS = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)), 50: ("bottleneck", (3, 4, 6, 3))}


class ResNetParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    style: Literal["cifar", "imagenet"] = Field("cifar", description="cifar (6n+2, small images) or imagenet")
    depth: int = Field(20, ge=8, description="layers: 6n+2 for cifar (20, 32, 56, 110); 18, 34 or 50 for imagenet")
    width: float = Field(1.0, gt=0, description="multiplier of every channel count")

    @model_validator(mode="after")
    def _known_depth(self) -> "ResNetParams":
        if self.style == "cifar" and (self.depth - 2) % 6:
            raise ValueError(f"depth {self.depth} is not 6n+2 (cifar ResNets: 20, 32, 44, 56, 110)")
        if self.style == "imagenet" and self.depth not in IMAGENET_BLOCKS:
            raise ValueError(f"depth {self.depth}: imagenet ResNets are 18, 34 or 50")
        return self


class _Layers:
    """Conv, batch norm and pools of one spatial dimensionality."""

    def __init__(self, dims: int) -> None:
        self.dims = dims
        self.conv = nn.Conv1d if dims == 1 else nn.Conv2d
        self.norm = nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d
        self.max_pool = nn.MaxPool1d if dims == 1 else nn.MaxPool2d
        self.avg_pool = nn.AdaptiveAvgPool1d if dims == 1 else nn.AdaptiveAvgPool2d


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, lay: _Layers, c_in: int, planes: int, stride: int, shortcut: str) -> None:
        super().__init__()
        c_out = planes * self.expansion
        self.body = nn.Sequential(
            lay.conv(c_in, planes, 3, stride, 1, bias=False), lay.norm(planes), nn.ReLU(inplace=True),
            lay.conv(planes, c_out, 3, 1, 1, bias=False), lay.norm(c_out))
        self.shortcut = _shortcut(lay, c_in, c_out, stride, shortcut)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, lay: _Layers, c_in: int, planes: int, stride: int, shortcut: str) -> None:
        super().__init__()
        c_out = planes * self.expansion
        self.body = nn.Sequential(
            lay.conv(c_in, planes, 1, bias=False), lay.norm(planes), nn.ReLU(inplace=True),
            lay.conv(planes, planes, 3, stride, 1, bias=False), lay.norm(planes), nn.ReLU(inplace=True),
            lay.conv(planes, c_out, 1, bias=False), lay.norm(c_out))
        self.shortcut = _shortcut(lay, c_in, c_out, stride, shortcut)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


class PadShortcut(nn.Module):
    """Option A: the identity, subsampled by ``stride`` and zero-padded to ``c_out`` channels (no weights)."""

    def __init__(self, dims: int, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.dims, self.pad, self.stride = dims, c_out - c_in, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[..., :: self.stride] if self.dims == 1 else x[..., :: self.stride, :: self.stride]
        return F.pad(x, (0, 0) * self.dims + (0, self.pad))


def _shortcut(lay: _Layers, c_in: int, c_out: int, stride: int, kind: str) -> nn.Module:
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    if kind == "pad":
        return PadShortcut(lay.dims, c_in, c_out, stride)
    return nn.Sequential(lay.conv(c_in, c_out, 1, stride, bias=False), lay.norm(c_out))


class ResNet(nn.Module):
    def __init__(self, p: ResNetParams, shape: DataShape) -> None:
        super().__init__()
        if shape.image_shape is None or len(shape.image_shape) not in (2, 3):
            raise ValueError(f"the resnet family needs 1-D (C, L) or 2-D (C, H, W) inputs, not {shape.image_shape}")
        self.image_shape = shape.image_shape
        lay = _Layers(len(shape.image_shape) - 1)
        channels = shape.image_shape[0]
        if p.style == "cifar":
            block, counts, planes, shortcut = BasicBlock, ((p.depth - 2) // 6,) * 3, (16, 32, 64), "pad"
            stem_width = max(1, round(16 * p.width))
            stem = [lay.conv(channels, stem_width, 3, 1, 1, bias=False), lay.norm(stem_width), nn.ReLU(inplace=True)]
        else:
            kind, counts = IMAGENET_BLOCKS[p.depth]
            block, planes, shortcut = (BasicBlock if kind == "basic" else Bottleneck), (64, 128, 256, 512), "project"
            stem_width = max(1, round(64 * p.width))
            stem = [lay.conv(channels, stem_width, 7, 2, 3, bias=False), lay.norm(stem_width), nn.ReLU(inplace=True),
                    lay.max_pool(3, 2, 1)]
        layers: list[nn.Module] = stem
        c_in = stem_width
        for stage, (count, base) in enumerate(zip(counts, planes)):
            width = max(1, round(base * p.width))
            for i in range(count):
                layers.append(block(lay, c_in, width, 2 if stage > 0 and i == 0 else 1, shortcut))
                c_in = width * block.expansion
        self.features = nn.Sequential(*layers, lay.avg_pool(1), nn.Flatten())
        self.head = nn.Linear(c_in, shape.n_classes)
        for m in self.modules():  # He et al. 2015 initialisation, as the paper
            if isinstance(m, (nn.Conv1d, nn.Conv2d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.view(len(x), *self.image_shape)))


def resnet_train_flops_per_sample(p: ResNetParams, shape: DataShape) -> float:
    """Per sample: 6 FLOPs per weight use of every conv and linear layer (Kaplan et al. 2020, sec. 2.1; a conv
    weight is used once per output position), less the first layer's input gradient (never computed);
    uses read off the layer shapes of one forward pass on the meta device. Batch norm, pools, additions and
    activations are not counted (He et al. 2016 count multiply-adds of convs and the linear layer the same way)."""
    with torch.device("meta"):
        model = ResNet(p, shape)
    uses: list[int] = []

    def count(module: nn.Module, _: tuple, out: torch.Tensor) -> None:
        positions = out[0, 0].numel() if out.dim() > 2 else 1
        uses.append(module.weight.numel() * positions)

    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            m.register_forward_hook(count)
    model.eval()(torch.empty(1, shape.n_features, device="meta"))
    return 6.0 * sum(uses) - 2.0 * uses[0]


RESNET_FAMILY = register_family(
    ModelFamily(
        name="resnet",
        modalities=("image",),
        sizes={
            "resnet20": {"style": "cifar", "depth": 20},
            "resnet32": {"style": "cifar", "depth": 32},
            "resnet56": {"style": "cifar", "depth": 56},
            "resnet110": {"style": "cifar", "depth": 110},
            "resnet18": {"style": "imagenet", "depth": 18},
            "resnet34": {"style": "imagenet", "depth": 34},
            "resnet50": {"style": "imagenet", "depth": 50},
        },
        params=ResNetParams,
        build=lambda p, shape: ResNet(p, shape),
        train_flops_per_sample=resnet_train_flops_per_sample,
        description="ResNets of He et al. 2016: CIFAR 6n+2 (20/32/56/110) and ImageNet 18/34/50, width multiplier",
    )
)
