"""Statlog German Credit (data/uci_german.py)."""

import numpy as np
import pytest

from dl_drawbacks.data import load_dataset
from dl_drawbacks.errors import DataError


def test_split_labels_and_protected_attributes():
    data = load_dataset("german")
    assert data.x_train.shape[0] == 750 and data.x_test.shape[0] == 250
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    y = np.concatenate([data.y_train, data.y_test])
    assert np.bincount(y).tolist() == [300, 700]                  # 2 = bad -> 0, 1 = good -> 1
    assert np.bincount(data.y_test).tolist() == [75, 175]         # stratified
    sex = np.concatenate([data.protected_train["sex"], data.protected_test["sex"]])
    age = np.concatenate([data.protected_train["age"], data.protected_test["age"]])
    assert sex.sum() == 50 + 548 + 92                             # A91, A93, A94 are male
    assert age.sum() == 851                                       # age >= 25
    assert not any(n.startswith(("personal_status_sex", "age")) for n in data.feature_names)
    assert "status=A11" in data.feature_names and "credit_amount" in data.feature_names
    column = data.feature_names.index("credit_amount")
    assert abs(data.x_train[:, column].mean()) < 1e-5


def test_seed_and_test_fraction_change_the_split():
    base = load_dataset("german", {"seed": 0})
    other = load_dataset("german", {"seed": 1})
    assert not np.array_equal(base.x_test, other.x_test)
    assert load_dataset("german", {"test_fraction": 0.1}).x_test.shape[0] == 100


def test_include_protected_puts_them_in_x():
    data = load_dataset("german", {"include_protected": True})
    assert {"age", "personal_status_sex=A92"} <= set(data.feature_names)


def test_malformed_user_file_is_refused(tmp_path):
    (tmp_path / "german.data").write_text("1 2 3\n")
    with pytest.raises(DataError, match="german.data: sha256"):
        load_dataset("german", {"path": str(tmp_path)})
