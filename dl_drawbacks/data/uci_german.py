"""Statlog German Credit: predict good (favourable, 1) or bad (0) credit; protected sex and age.

``german.data`` holds 1,000 space-separated rows of 20 coded attributes (A11...) and a label
(1 = good, 2 = bad). As in aif360's ``GermanDataset``, attribute 9 (personal status and sex)
becomes the protected ``sex`` (male = privileged 1) and ``age`` >= 25 is privileged; the test
split is random and stratified (``test_fraction``, default 0.25, and ``seed``).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..errors import DataError
from ..registry import DATASETS
from .base import Dataset, DatasetOptions, encode_tabular, refuse_unused, train_test_indices
from .checksums import read_verified

COLUMNS = ("status", "duration", "credit_history", "purpose", "credit_amount", "savings",
           "employment_since", "installment_rate", "personal_status_sex", "other_debtors",
           "residence_since", "property", "age", "other_installment_plans", "housing",
           "existing_credits", "job", "people_liable", "telephone", "foreign_worker", "credit")
NUMERIC = ("duration", "credit_amount", "installment_rate", "residence_since", "age",
           "existing_credits", "people_liable")
# attribute 9: A91 male divorced/separated, A92 female divorced/separated/married,
# A93 male single, A94 male married/widowed, A95 female single
MALE = ("A91", "A93", "A94")
PRIVILEGED = {
    "sex": pl.col("personal_status_sex").is_in(MALE),
    "age": pl.col("age") >= 25,
}
# the column each protected attribute comes from (kept out of x unless include_protected)
SOURCE_COLUMN = {"sex": "personal_status_sex", "age": "age"}
GROUP_NAMES = {"sex": {0: "female", 1: "male"}, "age": {0: "under 25", 1: "25 or older"}}
CITATION = "Hofmann 1994, UCI ML Repository, doi:10.24432/C5NC77, CC BY 4.0"


def parse_german(data: bytes, where: str) -> pl.DataFrame:
    rows = [line.split() for line in data.decode("ascii").splitlines() if line.strip()]
    bad = next((i for i, row in enumerate(rows) if len(row) != len(COLUMNS)), None)
    if bad is not None:
        raise DataError(f"{where}: row {bad + 1} has {len(rows[bad])} fields, expected "
                        f"{len(COLUMNS)}; use the published german.data (not german.data-numeric)")
    frame = pl.DataFrame(rows, schema=list(COLUMNS), orient="row")
    return frame.with_columns(pl.col((*NUMERIC, "credit")).cast(pl.Int64))


@DATASETS.register("german")
def load_german(options: DatasetOptions) -> Dataset:
    refuse_unused(options, "german", uses=("path", "test_fraction", "include_protected"))
    data, where = read_verified("german.data", options.path)
    frame = parse_german(data, where)
    y = (frame["credit"] == 1).to_numpy().astype(np.int64)
    test_fraction = options.test_fraction or 0.25
    train_idx, test_idx = train_test_indices(y, test_fraction, seed=options.seed)
    train, test = frame[train_idx], frame[test_idx]
    hidden = set() if options.include_protected else set(SOURCE_COLUMN.values())
    features = [c for c in COLUMNS[:-1] if c not in hidden]
    x_train, x_test, names = encode_tabular(train.select(features), test.select(features))
    protected = [{k: f.select(expr).to_series().to_numpy().astype(np.int64)
                  for k, expr in PRIVILEGED.items()} for f in (train, test)]
    return Dataset(
        name="german",
        modality="tabular",
        x_train=x_train,
        y_train=y[train_idx],
        x_test=x_test,
        y_test=y[test_idx],
        n_classes=2,
        feature_names=names,
        protected_train=protected[0],
        protected_test=protected[1],
        favorable_label=1,
        group_names=GROUP_NAMES,
        provenance=(f"Statlog German Credit german.data ({where}), sha256 verified; stratified "
                    f"test split {test_fraction} seed {options.seed}; label 1 = good; {CITATION}"),
    )
