"""A user's CSV or parquet file (data/tabular_file.py)."""

import numpy as np
import polars as pl
import pytest

from dl_drawbacks.data import load_dataset
from dl_drawbacks.errors import DataError


@pytest.fixture
def table() -> pl.DataFrame:
    n = 40
    return pl.DataFrame({
        "age": [18 + 2 * i for i in range(n)],
        "sex": ["F", "M"] * (n // 2),
        "job": ["a", "b", "c", "d"] * (n // 4),
        "income": [float(i % 7) for i in range(n)],
        "approved": ["yes" if i % 3 else "no" for i in range(n)],
    })


@pytest.fixture
def csv(tmp_path, table) -> str:
    path = tmp_path / "loans.csv"
    table.write_csv(path)
    return str(path)


def options(path, **extra):
    return {"path": path, "label": "approved", "favorable_label": "yes",
            "protected": {"sex": ["M"], "age": ">= 25"}, **extra}


def test_csv_label_protected_and_features(csv, table):
    data = load_dataset("tabular_file", options(csv))
    assert data.x_train.shape[0] + data.x_test.shape[0] == 40 and data.x_test.shape[0] == 10
    assert data.feature_names == ("job=a", "job=b", "job=c", "job=d", "income")
    y = np.concatenate([data.y_train, data.y_test])
    assert y.sum() == (table["approved"] == "yes").sum() and data.n_classes == 2
    assert sorted(data.protected_train) == ["age", "sex"]
    sex = np.concatenate([data.protected_train["sex"], data.protected_test["sex"]])
    age = np.concatenate([data.protected_train["age"], data.protected_test["age"]])
    assert sex.sum() == 20 and age.sum() == (table["age"] >= 25).sum()
    assert abs(data.x_train[:, 4].mean()) < 1e-5
    assert "sha256" in data.provenance


def test_parquet_and_null_rows(tmp_path, table):
    path = tmp_path / "loans.parquet"
    table.with_columns(pl.when(pl.col("age") == 20).then(None).otherwise(pl.col("income"))
                       .alias("income")).write_parquet(path)
    data = load_dataset("tabular_file", options(str(path)))
    assert data.x_train.shape[0] + data.x_test.shape[0] == 39
    assert "dropped 1 rows with missing values" in data.provenance


def test_without_favorable_label_classes_are_numbered_in_order(csv):
    data = load_dataset("tabular_file", {"path": csv, "label": "job"})
    assert data.n_classes == 4 and "age" in data.feature_names


def test_wrong_label_column_lists_available_columns(csv):
    with pytest.raises(DataError, match="label column 'aproved' not in the file; available "
                                        "columns: age, sex, job, income, approved"):
        load_dataset("tabular_file", options(csv, label="aproved"))


def test_label_with_one_class_is_refused(tmp_path, table):
    path = tmp_path / "one.csv"
    table.with_columns(pl.lit("yes").alias("approved")).write_csv(path)
    with pytest.raises(DataError, match="label column 'approved' has one class"):
        load_dataset("tabular_file", options(str(path)))


def test_missing_protected_attribute_is_refused(csv):
    with pytest.raises(DataError, match="protected attribute 'race' not in the file"):
        load_dataset("tabular_file", options(csv, protected={"race": ["white"]}))


def test_privileged_value_that_never_occurs_is_refused(csv):
    with pytest.raises(DataError, match=r"protected.sex: every row is unprivileged.*'F', 'M'"):
        load_dataset("tabular_file", options(csv, protected={"sex": ["male"]}))


def test_favorable_label_that_never_occurs_is_refused(csv):
    with pytest.raises(DataError, match="favorable_label 'Yes' never occurs.*'no', 'yes'"):
        load_dataset("tabular_file", options(csv, favorable_label="Yes"))


def test_missing_file_and_missing_label_option(tmp_path, csv):
    with pytest.raises(DataError, match="nope.csv not found"):
        load_dataset("tabular_file", options(str(tmp_path / "nope.csv")))
    with pytest.raises(DataError, match="needs options.label"):
        load_dataset("tabular_file", {"path": csv})


def test_protected_feature_needs_include_protected(csv):
    with pytest.raises(DataError, match="'sex' are the label or protected"):
        load_dataset("tabular_file", options(csv, features=("sex", "job")))
    data = load_dataset("tabular_file", options(csv, features=("sex", "job"), include_protected=True))
    assert data.feature_names[:2] == ("sex=F", "sex=M")


def test_infinite_values_are_dropped_like_missing_ones_and_counted(tmp_path, table):
    path = tmp_path / "inf.csv"
    text = table.write_csv()
    lines = text.splitlines()
    for i, cell in ((3, "inf"), (7, "-inf"), (9, "NaN")):  # the income cell of three rows
        cells = lines[i].split(",")
        cells[3] = cell
        lines[i] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    data = load_dataset("tabular_file", options(str(path)))
    assert data.x_train.shape[0] + data.x_test.shape[0] == 37
    assert np.isfinite(data.x_train).all() and np.isfinite(data.x_test).all()
    assert "dropped 3 rows with missing values (non-finite cells: 2 infinite, 1 NaN)" in data.provenance


@pytest.mark.parametrize("rows, test_fraction, counts", [
    (3, None, "3 complete rows of 3 (per class: 1, 2), test_fraction 0.25 gives 1 test and 2 train rows"),
    (40, 0.01, "40 complete rows of 40 (per class: 14, 26), test_fraction 0.01 gives 0 test and 40 train rows"),
])
def test_a_table_too_small_for_its_split_is_refused_naming_file_and_counts(tmp_path, table, rows, test_fraction,
                                                                           counts):
    path = tmp_path / "small.csv"
    table.head(rows).write_csv(path)
    extra = {"test_fraction": test_fraction} if test_fraction else {}
    with pytest.raises(DataError) as err:
        load_dataset("tabular_file", {**options(str(path)), "protected": {}, **extra})
    assert str(err.value) == (f"{path}: too few rows for a train/test split: {counts}; each class needs 2 rows "
                              f"and each split one row per class: add rows or change options.test_fraction")


def test_a_numeric_column_with_one_text_cell_is_refused_naming_it(tmp_path, table):
    path = tmp_path / "typo.csv"
    table.with_columns(pl.col("income").cast(pl.String)).with_columns(
        pl.when(pl.int_range(pl.len()) == 5).then(pl.lit("12,5")).otherwise(pl.col("income")).alias("income")
    ).write_csv(path)
    with pytest.raises(DataError, match=r"column 'income' holds numbers in 39 of 40 rows but '12,5' in data row 6"):
        load_dataset("tabular_file", options(str(path)))
    # a real text column (no numbers at all) is still one-hot encoded
    assert "job=a" in load_dataset("tabular_file", options(str(tmp_path / "typo.csv"), features=["job"])).feature_names


def test_groups_are_named_from_options_or_from_the_protected_rule(csv):
    data = load_dataset("tabular_file", options(csv))
    assert data.group_names == {"sex": {1: "sex in M", 0: "sex not in M"}, "age": {1: "age >= 25", 0: "age not >= 25"}}
    named = load_dataset("tabular_file", options(csv, group_names={"sex": {0: "female", 1: "male"}}))
    assert named.group_names["sex"] == {0: "female", 1: "male"} and named.group_names["age"][1] == "age >= 25"
    with pytest.raises(DataError, match="group_names.race: not a protected attribute"):
        load_dataset("tabular_file", options(csv, group_names={"race": {0: "a", 1: "b"}}))
    with pytest.raises(DataError, match="group_names.sex: name both groups"):
        load_dataset("tabular_file", options(csv, group_names={"sex": {1: "male"}}))
