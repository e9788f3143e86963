"""Label corruption, augmentation and the generalization summaries on known inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dl_drawbacks.studies.overfitting.generalization import bootstrap_mean, width_analysis
from dl_drawbacks.studies.overfitting.kind import OverfitTreatment, corrupt_labels, refuse_augment, shift_and_noise
from dl_drawbacks.errors import DataError


def test_label_noise_changes_exactly_that_share_to_other_classes():
    y = np.repeat(np.arange(10), 100)
    noisy = corrupt_labels(y, 10, noise=0.3, shuffle=False, seed=3)
    assert np.mean(noisy != y) == pytest.approx(0.3)  # every replaced label is a different class
    assert np.array_equal(noisy, corrupt_labels(y, 10, noise=0.3, shuffle=False, seed=3))
    shuffled = corrupt_labels(y, 10, noise=0.0, shuffle=True, seed=3)
    assert sorted(shuffled) == sorted(y) and np.mean(shuffled != y) > 0.8


def test_random_labels_and_noise_are_exclusive():
    with pytest.raises(ValueError, match="not both"):
        OverfitTreatment(random_labels=True, label_noise=0.1)


def test_shift_moves_pixels_and_augmentation_is_refused_for_tabular():
    x = torch.zeros(50, 64)
    x[:, 27] = 1.0  # one lit pixel at (3, 3)
    out = shift_and_noise(x, (1, 8, 8), shift=1, noise=0.0, gen=torch.Generator().manual_seed(0))
    assert torch.all(out.sum(1) == 1.0)  # still one pixel, inside the image
    assert (out[:, 27] == 0).any()  # some moved
    with pytest.raises(DataError, match="tabular"):
        refuse_augment("tabular", "adult")


def test_width_peak_detected_only_when_interior():
    import polars as pl

    rows = [{"label_noise": 0.2, "width": w, "test_error": e + 0.01 * s, "seed": s}
            for w, e in [(8, 0.2), (32, 0.35), (128, 0.15)] for s in range(3)]
    rows += [{"label_noise": 0.0, "width": w, "test_error": e, "seed": s} for w, e in [(8, 0.2), (32, 0.1), (128, 0.05)] for s in range(3)]
    w = width_analysis(pl.DataFrame(rows), 200)
    assert w["per_noise"]["0.2"]["peak_width"] == 32 and w["per_noise"]["0"]["peak_width"] is None
    assert bootstrap_mean(np.array([1.0, 1.0]))["interval"] == [1.0, 1.0]
