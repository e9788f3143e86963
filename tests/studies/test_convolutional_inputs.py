"""Studies on the cnn family and 1-D signals (MNIST-1D): augmentation shifts along the signal, the planted patch
covers its first positions, and captum explains a trained CNN on 1-D and 2-D inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dl_drawbacks.plan import plan
from dl_drawbacks.spec import parse_spec
from dl_drawbacks.studies.interpretability.planted import patch_indices
from dl_drawbacks.studies.overfitting.kind import shift_and_noise
from dl_drawbacks.train.worker import run_worker


def test_a_1d_signal_is_shifted_along_its_length_only():
    x = torch.zeros(50, 40)
    x[:, 20] = 1.0
    out = shift_and_noise(x, (1, 40), shift=2, noise=0.0, gen=torch.Generator().manual_seed(0))
    assert torch.all(out.sum(1) == 1.0)  # nothing shifted into a channel that does not exist
    assert set(out.argmax(1).tolist()) == {18, 19, 20, 21, 22}


def test_the_planted_patch_of_a_signal_is_its_first_positions():
    assert patch_indices((2, 40), 3).tolist() == [0, 1, 2, 40, 41, 42]
    assert patch_indices((1, 4, 4), 2).tolist() == [0, 1, 4, 5]


@pytest.mark.parametrize(("data", "size"), [({"name": "mnist1d", "options": {"num_samples": 1000}}, "m"),
                                            ({"name": "digits"}, "lenet5")])
def test_interpretability_explains_a_trained_cnn(tmp_path, monkeypatch, data, size):
    monkeypatch.setenv("DL_DRAWBACKS_CACHE", str(tmp_path))
    doc = {"name": "cnn-explain", "version": 1, "tracking": {"mode": "disabled"}, "studies": [{
        "kind": "interpretability", "data": data, "model": {"family": "cnn", "size": size},
        "trainer": {"micro_batch": 64, "optimizer": {"lr": 0.01}, "budget": {"steps": 30, "eval_every": 30}},
        "treatment": {"planted": True, "planted_fraction": 0.5, "n_explain": 8, "ig_steps": 4, "shap_samples": 2,
                      "curve_steps": 4, "n_robustness": 2, "n_maps": 1}}]}
    (trial,) = plan(parse_spec(doc))
    rows = run_worker(trial, "test")
    maps = [v for m, v in zip(rows["metric"], rows["value"]) if m == "attribution_map"]
    localisation = [v for m, v in zip(rows["metric"], rows["value"]) if m == "localisation_auc"]
    assert maps and np.isfinite(maps).all() and np.abs(maps).sum() > 0
    assert localisation and np.isfinite(localisation).all()
