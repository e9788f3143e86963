"""Dataset, DatasetOptions, load_dataset and the shared split/encoding helpers (data/base.py)."""

import numpy as np
import polars as pl
import pytest

from dl_drawbacks.data import Dataset, load_dataset
from dl_drawbacks.data.base import encode_tabular, stratified_indices
from dl_drawbacks.errors import DataError, SpecError
from dl_drawbacks.registry import DATASETS


def toy(n_train=100, *, seed=0) -> Dataset:
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1, 2], [50, 30, 20])[:n_train].astype(np.int64)
    return Dataset(
        name="toy", modality="tabular",
        x_train=rng.normal(size=(len(y), 3)).astype(np.float32), y_train=y,
        x_test=rng.normal(size=(10, 3)).astype(np.float32), y_test=np.zeros(10, np.int64),
        n_classes=3, feature_names=("a", "b", "c"),
        protected_train={"g": (np.arange(len(y)) % 2).astype(np.int64)},
        protected_test={"g": np.ones(10, np.int64)},
    )


def test_registry_lists_all_five_datasets():
    assert {"digits", "adult", "german", "text_bytes", "tabular_file"} <= set(DATASETS)


def test_unknown_name_lists_known_ones():
    with pytest.raises(SpecError, match="unknown dataset 'mnist'.*adult.*digits"):
        load_dataset("mnist")


def test_unknown_option_names_the_key():
    with pytest.raises(DataError, match="option test_fration"):
        load_dataset("digits", {"test_fration": 0.2})


def test_option_a_dataset_would_ignore_is_refused():
    with pytest.raises(DataError, match="'adult' does not use option.*seq_len"):
        load_dataset("adult", {"seq_len": 32})
    with pytest.raises(DataError, match="'digits' does not use option.*path"):
        load_dataset("digits", {"path": "/tmp"})


def test_load_is_cached_and_read_only():
    first = load_dataset("digits", {"seed": 3})
    assert load_dataset("digits", {"seed": 3}) is first
    assert load_dataset("digits", {"seed": 4}) is not first
    with pytest.raises(ValueError, match="read-only"):
        first.x_train[0, 0] = 1.0


def test_subsample_is_stratified_seeded_and_leaves_test_alone():
    data = toy()
    sub = data.subsample(10, seed=1)
    assert np.bincount(sub.y_train).tolist() == [5, 3, 2]
    assert sub.x_test is data.x_test and sub.y_test is data.y_test
    assert sub.protected_test["g"] is data.protected_test["g"]
    again, other = data.subsample(10, seed=1), data.subsample(10, seed=2)
    np.testing.assert_array_equal(sub.x_train, again.x_train)
    assert not np.array_equal(sub.x_train, other.x_train)
    # rows (features, label and protected attribute) stay together
    rows = {tuple(r) for r in data.x_train.tolist()}
    assert all(tuple(r) in rows for r in sub.x_train.tolist())
    index = [data.x_train.tolist().index(r) for r in sub.x_train.tolist()]
    np.testing.assert_array_equal(sub.protected_train["g"], data.protected_train["g"][index])
    np.testing.assert_array_equal(sub.y_train, data.y_train[index])


def test_subsample_larger_than_train_is_a_data_error():
    with pytest.raises(DataError, match="cannot subsample 101 train rows; the train split has 100"):
        toy().subsample(101, seed=0)


def test_split_validation_partitions_train_by_class():
    data = toy()
    rest, (x_val, y_val) = data.split_validation(0.2, seed=0)
    assert np.bincount(y_val).tolist() == [10, 6, 4]
    assert len(rest.y_train) == 80 and len(rest.protected_train["g"]) == 80
    together = np.concatenate([rest.x_train, x_val])
    assert sorted(map(tuple, together.tolist())) == sorted(map(tuple, data.x_train.tolist()))
    with pytest.raises(DataError, match="validation fraction"):
        data.split_validation(1.0, seed=0)


def test_stratified_indices_uses_largest_remainder():
    labels = np.array([0] * 8 + [1] * 2)
    picked = stratified_indices(labels, 4, seed=0)
    assert len(set(picked)) == 4
    assert np.bincount(labels[picked]).tolist() == [3, 1]  # quotas 3.2 and 0.8


def test_encode_tabular_uses_train_statistics_only():
    train = pl.DataFrame({"v": [1.0, 2.0, 3.0], "c": ["x", "y", "x"]})
    test = pl.DataFrame({"v": [5.0], "c": ["z"]})
    x_train, x_test, names = encode_tabular(train, test)
    assert names == ("v", "c=x", "c=y")
    assert x_train.dtype == np.float32
    assert abs(x_train[:, 0].mean()) < 1e-6 and abs(x_train[:, 0].std() - 1) < 1e-6
    np.testing.assert_allclose(x_test[0], [(5 - 2) / np.std([1, 2, 3]), 0, 0], rtol=1e-6)
