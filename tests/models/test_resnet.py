"""The resnet family against He et al. 2016's parameter counts, and its FLOPs against FlopCounterMode."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dl_drawbacks.errors import SpecError
from dl_drawbacks.models import DataShape, count_parameters, resolve_params
from dl_drawbacks.models.resnet import ResNet, resnet_train_flops_per_sample
from dl_drawbacks.train.flops import counted_train_flops


def image(shape: tuple[int, ...], classes: int = 10) -> DataShape:
    return DataShape("image", math.prod(shape), classes, image_shape=shape)


@pytest.mark.parametrize(("size", "shape", "classes", "parameters"), [
    ("resnet20", (3, 32, 32), 10, 0.27e6), ("resnet56", (3, 32, 32), 10, 0.85e6),
    ("resnet110", (3, 32, 32), 10, 1.7e6),  # paper table 6
    ("resnet18", (3, 224, 224), 1000, 11_689_512), ("resnet50", (3, 224, 224), 1000, 25_557_032)])  # torchvision
def test_parameter_counts_match_the_paper(size, shape, classes, parameters):
    with torch.device("meta"):
        model = ResNet(resolve_params("resnet", size, {}), image(shape, classes))
    assert count_parameters(model) == pytest.approx(parameters, rel=0.02)


def test_resnet18_forward_cost_is_the_papers_1_8_gflops():
    """He et al. 2016 table 1: 1.8 x 10^9 FLOPs (multiply-adds) forward at 224x224; training is 3x that."""
    flops = resnet_train_flops_per_sample(resolve_params("resnet", "resnet18", {}), image((3, 224, 224), 1000))
    assert flops / 6 == pytest.approx(1.8e9, rel=0.03)


@pytest.mark.parametrize(("size", "shape", "params"), [
    ("resnet20", (3, 16, 16), {"width": 0.5}), ("resnet18", (1, 8, 8), {"width": 0.25}),
    ("resnet20", (1, 40), {})])
def test_analytic_flops_equal_the_flop_counter(size, shape, params):
    p, s = resolve_params("resnet", size, params), image(shape)
    x = np.zeros((2, math.prod(shape)), np.float32)
    counted = counted_train_flops(lambda: ResNet(p, s), x, np.zeros(2, np.int64)) / 2
    assert counted == resnet_train_flops_per_sample(p, s) > 0
    assert ResNet(p, s)(torch.zeros(2, math.prod(shape))).shape == (2, 10)


def test_width_multiplies_channels_and_cifar_shortcuts_have_no_weights():
    narrow, wide = (ResNet(resolve_params("resnet", "resnet20", {"width": w}), image((3, 32, 32))) for w in (1, 2))
    assert count_parameters(wide) == pytest.approx(4 * count_parameters(narrow), rel=0.05)
    assert not any(isinstance(m, torch.nn.Conv2d) and m.kernel_size == (1, 1) for m in narrow.modules())


@pytest.mark.parametrize(("params", "message"), [({"depth": 21}, "not 6n\\+2"),
                                                 ({"style": "imagenet", "depth": 20}, "18, 34 or 50")])
def test_a_depth_the_paper_does_not_define_is_refused(params, message):
    with pytest.raises(SpecError, match=f"model.params: .*{message}"):
        resolve_params("resnet", "resnet20", params)
