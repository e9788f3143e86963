"""Byte-level corpus from scikit-learn's data set descriptions (data/text_bytes.py)."""

import hashlib

import numpy as np
import pytest

from dl_drawbacks.data import load_dataset
from dl_drawbacks.data.text_bytes import corpus_bytes
from dl_drawbacks.errors import DataError


def test_windows_shift_targets_by_one_byte():
    data = load_dataset("text_bytes")
    assert data.modality == "tokens" and data.n_classes == 256
    assert data.x_train.dtype == data.y_train.dtype == np.int64
    assert data.x_train.shape[1] == 64 and data.y_train.shape == data.x_train.shape
    assert data.x_train.min() >= 0 and data.x_train.max() < 256
    np.testing.assert_array_equal(data.y_train[:, :-1], data.x_train[:, 1:])
    np.testing.assert_array_equal(data.y_test[:, :-1], data.x_test[:, 1:])
    np.testing.assert_array_equal(data.y_train[:-1, -1], data.x_train[1:, 0])  # non-overlapping


def test_train_is_the_start_and_test_the_last_tenth_of_the_corpus():
    corpus = corpus_bytes()
    data = load_dataset("text_bytes", {"seq_len": 32})
    assert bytes(data.x_train.ravel().astype(np.uint8)) == corpus[: data.x_train.size]
    cut = int(len(corpus) * 0.9)
    assert bytes(data.x_test.ravel().astype(np.uint8)) == corpus[cut : cut + data.x_test.size]
    assert b"digits" in corpus and hashlib.sha256(corpus).hexdigest() in data.provenance


def test_subsample_of_windows_is_random_not_stratified():
    data = load_dataset("text_bytes")
    sub = data.subsample(100, seed=0)
    assert sub.x_train.shape == (100, 64) and sub.x_test is data.x_test


def test_seq_len_too_long_is_refused():
    with pytest.raises(DataError, match="seq_len 9000 leaves no window"):
        load_dataset("text_bytes", {"seq_len": 9000})
