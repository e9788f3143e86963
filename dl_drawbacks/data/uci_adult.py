"""UCI Adult (Census Income): predict income > 50K; protected sex, race and age.

Official split: ``adult.data`` is train, ``adult.test`` is test (its first line is a comment and
its labels end in '.'). Rows with a '?' are dropped (30,162 train and 15,060 test remain). As in
aif360's ``AdultDataset``, ``fnlwgt`` (a census sampling weight, not a trait of the person) is
dropped; the other numeric columns are standardised with train statistics, the rest one-hot.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..errors import DataError
from ..registry import DATASETS
from .base import Dataset, DatasetOptions, encode_tabular, refuse_unused
from .checksums import read_verified

COLUMNS = ("age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
           "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
           "hours-per-week", "native-country", "income")
NUMERIC = ("age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week")
DROPPED = ("fnlwgt",)
# protected attribute -> expression that is True for the privileged group (aif360's convention)
PRIVILEGED = {
    "sex": pl.col("sex") == "Male",
    "race": pl.col("race") == "White",
    "age": pl.col("age") >= 25,
}
GROUP_NAMES = {"sex": {0: "female", 1: "male"}, "race": {0: "non-White", 1: "White"},
               "age": {0: "under 25", 1: "25 or older"}}
CITATION = "Becker & Kohavi 1996, UCI ML Repository, doi:10.24432/C5XW20, CC BY 4.0"


def parse_adult(data: bytes, where: str, *, header_lines: int) -> tuple[pl.DataFrame, int]:
    """The rows of an adult.data/adult.test file without '?' values, and how many were dropped."""
    lines = data.decode("ascii").splitlines()[header_lines:]
    rows = [[cell.strip() for cell in line.split(",")] for line in lines if line.strip()]
    bad = next((i for i, row in enumerate(rows) if len(row) != len(COLUMNS)), None)
    if bad is not None:
        raise DataError(f"{where}: row {bad + 1 + header_lines} has {len(rows[bad])} fields, "
                        f"expected {len(COLUMNS)}; use the published UCI Adult file")
    kept = [row for row in rows if "?" not in row]
    frame = pl.DataFrame(kept, schema=list(COLUMNS), orient="row")
    frame = frame.with_columns(pl.col(NUMERIC).cast(pl.Int64),
                               pl.col("income").str.strip_suffix("."))
    return frame, len(rows) - len(kept)


@DATASETS.register("adult")
def load_adult(options: DatasetOptions) -> Dataset:
    refuse_unused(options, "adult", uses=("path", "include_protected"))
    frames, dropped, sources = [], [], []
    for name, header_lines in (("adult.data", 0), ("adult.test", 1)):
        data, where = read_verified(name, options.path)
        frame, n_dropped = parse_adult(data, where, header_lines=header_lines)
        frames.append(frame)
        dropped.append(n_dropped)
        sources.append(where)
    train, test = frames
    features = [c for c in COLUMNS if c not in DROPPED and c != "income"
                and (options.include_protected or c not in PRIVILEGED)]
    x_train, x_test, names = encode_tabular(train.select(features), test.select(features))
    protected = [{k: f.select(expr).to_series().to_numpy().astype(np.int64)
                  for k, expr in PRIVILEGED.items()} for f in (train, test)]
    return Dataset(
        name="adult",
        modality="tabular",
        x_train=x_train,
        y_train=(train["income"] == ">50K").to_numpy().astype(np.int64),
        x_test=x_test,
        y_test=(test["income"] == ">50K").to_numpy().astype(np.int64),
        n_classes=2,
        feature_names=names,
        protected_train=protected[0],
        protected_test=protected[1],
        favorable_label=1,
        group_names=GROUP_NAMES,
        provenance=(f"UCI Adult adult.data/adult.test ({', '.join(sources)}), sha256 verified; "
                    f"dropped {dropped[0]} train / {dropped[1]} test rows with '?', and fnlwgt; "
                    f"label 1 = '>50K'; {CITATION}"),
    )
