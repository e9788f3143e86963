"""The cnn family: the MNIST-1D paper's conv1d net, a LeNet-style 2-D net, and their FLOP counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dl_drawbacks.errors import SpecError
from dl_drawbacks.models import DataShape, count_parameters, resolve_params
from dl_drawbacks.models.cnn import CNN, cnn_train_flops_per_sample
from dl_drawbacks.train.flops import counted_train_flops


def image(shape: tuple[int, ...]) -> DataShape:
    return DataShape("image", math.prod(shape), 10, image_shape=shape)


def test_mnist1d_size_is_the_papers_convbase():
    """greydanus/mnist1d ConvBase: conv1d 1->25 k5 s2, 25->25 k3 s2 (twice), linear 125->10: 5,210 weights."""
    model = CNN(resolve_params("cnn", "mnist1d", {}), image((1, 40)))
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv1d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (1, 25, (5,), (2,)), (25, 25, (3,), (2,)), (25, 25, (3,), (2,))]
    linear = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(125, 10)]
    assert count_parameters(model) == 5210
    assert model(torch.zeros(3, 40)).shape == (3, 10)


def test_lenet5_on_small_images_has_two_pooled_conv_blocks_and_two_hidden_layers():
    model = CNN(resolve_params("cnn", "lenet5", {}), image((1, 8, 8)))
    assert sum(isinstance(m, torch.nn.Conv2d) for m in model.modules()) == 2
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in model.modules()) == 2
    assert [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)] == [120, 84, 10]
    assert model(torch.zeros(2, 64)).shape == (2, 10)


@pytest.mark.parametrize(("size", "shape", "params"), [
    ("mnist1d", (1, 40), {}), ("m", (1, 40), {"fc_widths": [32]}), ("lenet5", (1, 8, 8), {}),
    ("s", (3, 32, 32), {"depth": 2})])
def test_analytic_flops_equal_the_flop_counter(size, shape, params):
    p, s = resolve_params("cnn", size, params), image(shape)
    x = np.zeros((4, math.prod(shape)), np.float32)
    counted = counted_train_flops(lambda: CNN(p, s), x, np.zeros(4, np.int64)) / 4
    assert counted == cnn_train_flops_per_sample(p, s) > 0


def test_width_scales_the_channels():
    narrow, wide = (CNN(resolve_params("cnn", "mnist1d", {"width": w}), image((1, 40))) for w in (8, 64))
    assert count_parameters(wide) > 20 * count_parameters(narrow)


def test_unknown_parameter_is_refused_with_its_name():
    with pytest.raises(SpecError, match="model.params.channels: unknown parameter of cnn"):
        resolve_params("cnn", "s", {"channels": 3})
