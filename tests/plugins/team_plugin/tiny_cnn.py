"""A small convolutional network for image data sets: the team's own model family."""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from dl_drawbacks.models.base import DataShape, ModelFamily, register_family


class TinyCNNParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    channels: int = Field(8, ge=1, description="channels of the one 3x3 convolution")


class TinyCNN(nn.Module):
    def __init__(self, p: TinyCNNParams, shape: DataShape) -> None:
        super().__init__()
        self.image_shape = shape.image_shape
        c, h, w = shape.image_shape
        self.conv = nn.Conv2d(c, p.channels, 3, padding=1)
        self.head = nn.Linear(p.channels * h * w, shape.n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.relu(self.conv(x.view(len(x), *self.image_shape)))
        return self.head(z.flatten(1))


def tiny_cnn_flops(p: TinyCNNParams, shape: DataShape) -> float:
    """6 FLOPs per multiply-accumulate per sample (forward 2, backward 4)."""
    c, h, w = shape.image_shape
    return 6.0 * (c * p.channels * 9 * h * w + p.channels * h * w * shape.n_classes)


register_family(ModelFamily(name="tiny_cnn", modalities=("image",), sizes={"s": {"channels": 4}, "m": {"channels": 8}},
                            params=TinyCNNParams, build=TinyCNN, train_flops_per_sample=tiny_cnn_flops,
                            description="one convolution and a linear head (a team's plug-in)"))
