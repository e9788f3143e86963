"""UCI Adult from the package copies or a user's folder (data/uci_adult.py)."""

import gzip

import numpy as np
import pytest

from dl_drawbacks.data import load_dataset
from dl_drawbacks.data.checksums import PACKAGE_FILES
from dl_drawbacks.errors import DataError


@pytest.fixture(scope="module")
def adult():
    return load_dataset("adult")


def copy_raw(folder):
    for name in ("adult.data", "adult.test"):
        (folder / name).write_bytes(gzip.decompress((PACKAGE_FILES / f"{name}.gz").read_bytes()))


def test_official_split_without_question_marks(adult):
    assert adult.x_train.shape[0] == 30_162 and adult.x_test.shape[0] == 15_060
    assert adult.x_train.dtype == np.float32 and adult.y_train.dtype == np.int64
    assert adult.x_train.shape[1] == adult.x_test.shape[1] == len(adult.feature_names)
    assert adult.n_classes == 2 and adult.favorable_label == 1
    assert np.bincount(adult.y_train).tolist() == [22_654, 7_508]  # label 1 = '>50K'
    assert np.bincount(adult.y_test).tolist() == [11_360, 3_700]   # '>50K.' in adult.test
    assert not any("?" in name for name in adult.feature_names)


def test_protected_attributes_are_binary_and_kept_out_of_x(adult):
    assert set(adult.protected_train) == {"sex", "race", "age"}
    counts = {k: int(v.sum()) for k, v in adult.protected_train.items()}
    assert counts == {"sex": 20_380, "race": 25_933, "age": 25_293}  # Male, White, age >= 25
    assert all(len(v) == 15_060 for v in adult.protected_test.values())
    assert not any(n.split("=")[0] in {"sex", "race", "age", "fnlwgt"} for n in adult.feature_names)
    with_protected = load_dataset("adult", {"include_protected": True})
    assert {"age", "sex=Male", "race=White"} <= set(with_protected.feature_names)


def test_numeric_features_are_standardised_with_train_statistics(adult):
    column = adult.feature_names.index("hours-per-week")
    assert abs(adult.x_train[:, column].mean()) < 1e-5
    assert abs(adult.x_train[:, column].std() - 1) < 1e-4
    assert abs(adult.x_test[:, column].mean()) > 1e-4  # test is not re-centred on itself
    one_hot = adult.feature_names.index("workclass=Private")
    assert set(np.unique(adult.x_train[:, one_hot])) == {0.0, 1.0}


def test_user_folder_gives_the_same_data(tmp_path, adult):
    copy_raw(tmp_path)
    mine = load_dataset("adult", {"path": str(tmp_path)})
    np.testing.assert_array_equal(mine.x_train, adult.x_train)
    assert str(tmp_path) in mine.provenance


def test_corrupted_copy_is_refused_naming_the_file(tmp_path):
    copy_raw(tmp_path)
    test_file = tmp_path / "adult.test"
    test_file.write_bytes(test_file.read_bytes().replace(b"<=50K.", b">50K.", 1))
    with pytest.raises(DataError, match=r"adult\.test: sha256 .* does not match .*published"):
        load_dataset("adult", {"path": str(tmp_path)})


def test_missing_file_is_refused_with_the_fix(tmp_path):
    copy_raw(tmp_path)
    (tmp_path / "adult.data").unlink()
    with pytest.raises(DataError, match=r"adult\.data not found: put the published adult\.data"):
        load_dataset("adult", {"path": str(tmp_path)})


def test_fixed_split_refuses_test_fraction():
    with pytest.raises(DataError, match="does not use option.*test_fraction"):
        load_dataset("adult", {"test_fraction": 0.3})
