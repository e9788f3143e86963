"""MNIST-1D generated offline by the mnist1d package, with its own options model."""

from __future__ import annotations

import numpy as np
import pytest

from dl_drawbacks.data import load_dataset
from dl_drawbacks.errors import DataError


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DL_DRAWBACKS_CACHE", str(tmp_path))


def test_default_matches_the_package_split_and_shape():
    data = load_dataset("mnist1d", {"num_samples": 1000})
    assert data.modality == "image" and data.image_shape == (1, 40)
    assert data.x_train.shape == (800, 40) and data.x_test.shape == (200, 40)
    assert set(np.unique(data.y_train)) == set(range(10))
    assert "seed 42" in data.provenance and "first 800 train, last 200 test" in data.provenance


def test_generation_is_seeded_and_leaves_global_random_state_alone():
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    a = load_dataset("mnist1d", {"num_samples": 1000, "seed": 1})
    assert np.array_equal(np.random.get_state()[1], before)
    b = load_dataset("mnist1d", {"num_samples": 1000, "seed": 2})
    assert not np.array_equal(a.x_train, b.x_train)


def test_label_noise_flips_that_share_of_train_labels_only():
    clean = load_dataset("mnist1d", {"num_samples": 1000})
    noisy = load_dataset("mnist1d", {"num_samples": 1000, "label_noise": 0.15})
    assert np.mean(clean.y_train != noisy.y_train) == pytest.approx(0.15, abs=1 / 800)
    assert np.array_equal(clean.y_test, noisy.y_test) and np.array_equal(clean.x_train, noisy.x_train)
    assert "15% of train labels replaced" in noisy.provenance


def test_shuffled_variant_permutes_positions():
    plain = load_dataset("mnist1d", {"num_samples": 1000})
    shuffled = load_dataset("mnist1d", {"num_samples": 1000, "shuffle": True})
    assert shuffled.y_train.tolist() == plain.y_train.tolist()
    assert not np.allclose(plain.x_train, shuffled.x_train)
    # one permutation of the 40 positions: every sample's values are the same multiset
    assert np.allclose(np.sort(plain.x_train, axis=1), np.sort(shuffled.x_train, axis=1))


def test_unknown_or_out_of_range_options_are_refused_with_the_key():
    with pytest.raises(DataError, match="option num_sample: unknown option; known: label_noise"):
        load_dataset("mnist1d", {"num_sample": 1000})
    with pytest.raises(DataError, match="option num_samples: Input should be greater than or equal to 1000"):
        load_dataset("mnist1d", {"num_samples": 10})
