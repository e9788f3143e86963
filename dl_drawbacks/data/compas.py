"""ProPublica's COMPAS two-year file: did a defendant reoffend within two years; protected race and sex.

The file has no licence, so it is never shipped: it is read from ``options.path`` (the csv or its
folder) or the environment variable ``DL_DRAWBACKS_COMPAS`` (see datasets/README.md, row
propublica-compas). Its header repeats ``decile_score`` and ``priors_count`` (polars renames the
second ``*_duplicated_0``; the copies are equal and only the first is used). ProPublica's filter
(compas-analysis, "Compas Analysis.ipynb", Angwin et al. 2016) keeps 6,172 of 7,214 rows:
-30 <= days_b_screening_arrest <= 30, is_recid != -1, c_charge_degree != 'O', score_text != 'N/A'.

Orientation (aif360's CompasDataset convention): label 1 = did **not** reoffend (favourable);
race: Caucasian = 1 (privileged), African-American = 0, every other race = 2 (in neither compared group);
sex: Female = 1 (privileged, as in aif360). Features: age, the three juvenile counts, priors_count,
charge degree; never the COMPAS scores themselves (those are the decisions an audit examines).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import polars as pl

from ..errors import DataError
from ..registry import DATASETS
from .base import Dataset, DatasetOptions, encode_tabular, refuse_unused, train_test_indices

FILE = "compas-scores-two-years.csv"
MD5 = "f987232130781ba9af60cc0d69f193e4"  # datasets/MD5SUMS
ENV = "DL_DRAWBACKS_COMPAS"
FEATURES = ("age", "juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count", "c_charge_degree")
RACE_CODES = {"Caucasian": 1, "African-American": 0}  # other races: 2
GROUP_NAMES = {"race": {0: "African-American", 1: "Caucasian", 2: "other race"}, "sex": {0: "male", 1: "female"}}
CITATION = "ProPublica, Angwin et al. 2016 'Machine Bias', propublica/compas-analysis (no licence; not shipped)"
MISSING = (f"dataset 'compas': set data.options.path (or ${ENV}) to ProPublica's {FILE} or its folder; "
           "see README.md, section 'Data you provide: COMPAS' (it is not shipped: no licence)")


def compas_file(path: str | None) -> Path:
    """The csv named by ``path`` (a file or a folder holding it) or ``$DL_DRAWBACKS_COMPAS``."""
    given = path or os.environ.get(ENV)
    if not given:
        raise DataError(MISSING)
    file = Path(given).expanduser()
    file = file / FILE if file.is_dir() else file
    if not file.is_file():
        raise DataError(f"{MISSING}; {file} does not exist")
    return file


def propublica_filter(frame: pl.DataFrame) -> pl.DataFrame:
    """ProPublica's row filter (6,172 of 7,214 rows on the published file)."""
    return frame.filter(pl.col("days_b_screening_arrest").is_between(-30, 30), pl.col("is_recid") != -1,
                        pl.col("c_charge_degree") != "O", pl.col("score_text") != "N/A")


def read_compas(path: str | None) -> pl.DataFrame:
    """The filtered table, checksum-verified, with ``race_code``/``sex_code`` and label ``no_recid``."""
    file = compas_file(path)
    data = file.read_bytes()
    if hashlib.md5(data).hexdigest() != MD5:
        raise DataError(f"{file}: md5 differs from datasets/MD5SUMS; use ProPublica's published {FILE}")
    frame = pl.read_csv(data, infer_schema_length=10000)
    dup = [c for c in frame.columns if c.endswith("_duplicated_0")]
    for c in dup:
        if not frame[c].equals(frame[c.removesuffix("_duplicated_0")]):
            raise DataError(f"{file}: duplicated column {c} differs from the first copy; file is not ProPublica's")
    frame = propublica_filter(frame.drop(dup))
    return frame.with_columns(
        pl.col("race").replace_strict(RACE_CODES, default=2, return_dtype=pl.Int64).alias("race_code"),
        (pl.col("sex") == "Female").cast(pl.Int64).alias("sex_code"),
        (1 - pl.col("two_year_recid")).cast(pl.Int64).alias("no_recid"))


def compas_split(frame: pl.DataFrame, options: DatasetOptions) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row positions: stratified by label, ``test_fraction`` (default 0.3) and ``seed``."""
    return train_test_indices(frame["no_recid"].to_numpy(), options.test_fraction or 0.3, seed=options.seed)


@DATASETS.register("compas")
def load_compas(options: DatasetOptions) -> Dataset:
    refuse_unused(options, "compas", uses=("path", "test_fraction", "include_protected"))
    frame = read_compas(options.path)
    train_idx, test_idx = compas_split(frame, options)
    features = [*FEATURES, *(("race", "sex") if options.include_protected else ())]
    x_train, x_test, names = encode_tabular(frame[train_idx].select(features), frame[test_idx].select(features))
    y = frame["no_recid"].to_numpy().astype(np.int64)
    groups = {"race": frame["race_code"].to_numpy(), "sex": frame["sex_code"].to_numpy()}
    return Dataset(
        name="compas", modality="tabular", x_train=x_train, y_train=y[train_idx], x_test=x_test, y_test=y[test_idx],
        n_classes=2, feature_names=names,
        protected_train={k: v[train_idx].astype(np.int64) for k, v in groups.items()},
        protected_test={k: v[test_idx].astype(np.int64) for k, v in groups.items()},
        favorable_label=1,
        group_names=GROUP_NAMES,
        provenance=(f"COMPAS two-year file ({compas_file(options.path)}), md5 verified, ProPublica's filter "
                    f"({frame.height} rows); label 1 = no recidivism in two years; {CITATION}"),
    )
