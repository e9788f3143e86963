"""scikit-learn digits (data/digits.py)."""

import numpy as np

from dl_drawbacks.data import load_dataset


def test_shapes_classes_and_standardisation():
    data = load_dataset("digits")
    assert data.modality == "image" and data.image_shape == (1, 8, 8)
    assert data.x_train.shape == (1348, 64) and data.x_test.shape == (449, 64)
    assert data.x_train.dtype == np.float32 and data.y_test.dtype == np.int64
    assert data.n_classes == 10 and data.protected_train == {}
    assert np.bincount(data.y_test).min() >= 44  # stratified: every digit about 45 times
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0, atol=1e-5)
    assert abs(data.x_test.mean()) > 1e-4
    reshaped = data.x_train.reshape(-1, *data.image_shape)
    assert reshaped.shape == (1348, 1, 8, 8)


def test_seed_changes_the_split_but_not_the_rows():
    a, b = load_dataset("digits", {"seed": 0}), load_dataset("digits", {"seed": 1})
    assert not np.array_equal(a.y_test, b.y_test)
    assert np.bincount(a.y_test).tolist() == np.bincount(b.y_test).tolist()
