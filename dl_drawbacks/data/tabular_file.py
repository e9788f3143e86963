"""A user's own table (CSV or parquet) as a data set: label, protected attributes, features.

Options: ``path`` (the file), ``label`` (column), ``favorable_label`` (value that becomes class 1;
unset keeps every class, numbered in sorted order), ``protected`` (column -> privileged values or
a comparison like ``'>= 25'``), ``features`` (default: every other column), ``include_protected``,
``test_fraction`` (default 0.25) and ``seed``. Rows with a missing (or NaN, or infinite) value in a used
column are dropped and counted, with the non-finite cells, in the provenance; a table too small for a
stratified split (fewer than 2 complete rows of a class, or a split without a row of each class) is refused
naming the counts; numeric columns are standardised with train statistics, the others
one-hot; a text column that holds numbers but for a few cells is refused, naming the first such cell.
"""

from __future__ import annotations

import io
import operator
import re
from pathlib import Path

import numpy as np
import polars as pl

from ..errors import DataError
from ..registry import DATASETS
from .base import Dataset, DatasetOptions, encode_tabular, refuse_mostly_numeric, refuse_unused, train_test_indices
from .checksums import sha256

READERS = {".csv": pl.read_csv, ".parquet": pl.read_parquet, ".pq": pl.read_parquet}
COMPARISON = re.compile(r"^\s*(>=|<=|>|<|==|!=)\s*(-?\d+(?:\.\d*)?(?:[eE]-?\d+)?)\s*$")
OPERATORS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
             "==": operator.eq, "!=": operator.ne}


def read_table(path: str | None) -> tuple[pl.DataFrame, Path, bytes]:
    if path is None:
        raise DataError("dataset 'tabular_file' needs options.path: a .csv or .parquet file")
    file = Path(path).expanduser()
    reader = READERS.get(file.suffix.lower())
    if reader is None:
        raise DataError(f"{file}: unsupported file type {file.suffix!r}; use .csv or .parquet")
    if not file.is_file():
        raise DataError(f"{file} not found; set options.path to an existing .csv or .parquet file")
    data = file.read_bytes()
    try:
        return reader(io.BytesIO(data)), file, data
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{file} could not be read as {file.suffix}: "
                        f"{str(exc).splitlines()[0]}") from None


def require_columns(frame: pl.DataFrame, wanted: list[str], what: str, file: Path | str) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DataError(f"{file}: {what} {', '.join(map(repr, missing))} not in the file; "
                        f"available columns: {', '.join(frame.columns)}")


def matches(frame: pl.DataFrame, column: str, spec: list | str, what: str) -> pl.Expr:
    """True where ``column`` holds one of the values in ``spec`` or passes its comparison."""
    dtype = frame.schema[column]
    if isinstance(spec, str):
        found = COMPARISON.match(spec)
        if found is None or not dtype.is_numeric():
            raise DataError(f"{what}: {spec!r} must be a list of values or, on a numeric column, "
                            f"a comparison like '>= 25' (column {column!r} is {dtype})")
        return OPERATORS[found[1]](pl.col(column).cast(pl.Float64), float(found[2]))
    if dtype.is_numeric():
        try:
            return pl.col(column).cast(pl.Float64).is_in([float(v) for v in spec])
        except ValueError:
            raise DataError(f"{what}: values {spec!r} are not numbers, but column {column!r} "
                            f"is {dtype}") from None
    lower = dtype == pl.Boolean
    return pl.col(column).cast(pl.String).is_in([str(v).lower() if lower else str(v) for v in spec])


def declared_group_names(protected: dict[str, list | str], given: dict[str, dict[int, str]]) -> dict:
    """Attribute -> {0: name, 1: name}: the names the options give, else read from ``protected``
    (``sex in Male`` / ``sex not in Male``; ``age >= 25`` / ``age not >= 25``)."""
    unknown = sorted(set(given) - set(protected))
    if unknown:
        raise DataError(f"group_names.{unknown[0]}: not a protected attribute; protected: {', '.join(protected)}")
    for attr, names in given.items():
        if set(names) != {0, 1}:
            raise DataError(f"group_names.{attr}: name both groups, as {{0: unprivileged name, 1: privileged name}}")
    out = {}
    for attr, spec in protected.items():
        rule = spec.strip() if isinstance(spec, str) else f"in {', '.join(map(str, spec))}"
        out[attr] = dict(given.get(attr) or {1: f"{attr} {rule}", 0: f"{attr} not {rule}"})
    return out


def values_seen(frame: pl.DataFrame, column: str) -> str:
    values = frame[column].unique().sort().head(10).to_list()
    return ", ".join(map(repr, values)) + (" ..." if frame[column].n_unique() > 10 else "")


def refuse_too_small(file: Path | str, y: np.ndarray, test_fraction: float, *, n_rows: int) -> None:
    """A stratified split needs each class in both splits: 2 complete rows of every class at least, and
    ``round(test_fraction * n)`` rows for the test split leaving one row per class on either side."""
    counts = np.bincount(y)
    n_test = round(test_fraction * len(y))
    if counts.min() >= 2 and len(counts) <= n_test <= len(y) - len(counts):
        return
    raise DataError(f"{file}: too few rows for a train/test split: {len(y)} complete rows of {n_rows} "
                    f"(per class: {', '.join(map(str, counts.tolist()))}), test_fraction {test_fraction} gives "
                    f"{n_test} test and {len(y) - n_test} train rows; each class needs 2 rows and each split one "
                    f"row per class: add rows or change options.test_fraction")


@DATASETS.register("tabular_file")
def load_tabular_file(options: DatasetOptions) -> Dataset:
    refuse_unused(options, "tabular_file", uses=("path", "label", "favorable_label", "protected",
                                                 "features", "include_protected", "test_fraction", "group_names"))
    frame, file, data = read_table(options.path)
    return table_dataset(frame, options, name="tabular_file", source=str(file),
                         described=f"user file {file} sha256 {sha256(data)}")


def table_dataset(frame: pl.DataFrame, options, *, name: str, source: str, described: str) -> Dataset:
    """A classification data set from a table: ``options`` name its label, favorable_label, protected, features,
    include_protected, test_fraction and seed (``DatasetOptions`` or a data set's own model with those fields);
    ``source`` names the table in messages, ``described`` opens the provenance."""
    file = source
    if options.label is None:
        raise DataError(f"dataset {name!r} needs options.label; columns in {file}: "
                        f"{', '.join(frame.columns)}")
    label, protected = options.label, options.protected
    require_columns(frame, [label], "label column", file)
    require_columns(frame, list(protected), "protected attribute", file)
    if options.features is None:
        features = [c for c in frame.columns if c != label
                    and (options.include_protected or c not in protected)]
    else:
        features = list(options.features)
        require_columns(frame, features, "feature", file)
        hidden = [c for c in features if c == label or (c in protected and not options.include_protected)]
        if hidden:
            raise DataError(f"feature(s) {', '.join(map(repr, hidden))} are the label or protected; "
                            "remove them from features (or set include_protected: true)")
    used = list(dict.fromkeys([label, *features, *protected]))
    refuse_mostly_numeric(frame, [*features, *protected], str(file))
    n_rows = frame.height
    frame = frame.select(used)
    floats = [c for c, t in frame.schema.items() if t.is_float()]
    n_infinite, n_nan = (int(frame.select(pl.sum_horizontal([test(pl.col(c)).sum() for c in floats] or [pl.lit(0)]))
                             .item()) for test in (pl.Expr.is_infinite, pl.Expr.is_nan))
    frame = frame.with_columns(pl.when(pl.col(c).is_infinite()).then(None).otherwise(pl.col(c)).alias(c)
                               for c, t in frame.schema.items() if t.is_float())
    frame = frame.fill_nan(None).drop_nulls()
    if options.favorable_label is None:
        classes = frame[label].unique().sort().to_numpy()
        y = np.searchsorted(classes, frame[label].to_numpy()).astype(np.int64)
    else:
        y = frame.select(matches(frame, label, [options.favorable_label], "favorable_label"))
        y = y.to_series().to_numpy().astype(np.int64)
        if y.sum() == 0:
            raise DataError(f"favorable_label {options.favorable_label!r} never occurs in label "
                            f"column {label!r}; values seen: {values_seen(frame, label)}")
        classes = np.array([0, 1])
    if len(np.unique(y)) < 2:
        raise DataError(f"label column {label!r} has one class ({values_seen(frame, label)}) "
                        f"in the {frame.height} complete rows; a classifier needs at least two")
    groups = {}
    for name, spec in protected.items():
        groups[name] = frame.select(matches(frame, name, spec, f"protected.{name}"))
        groups[name] = groups[name].to_series().to_numpy().astype(np.int64)
        if groups[name].min() == groups[name].max():
            side = "privileged" if groups[name][0] else "unprivileged"
            raise DataError(f"protected.{name}: every row is {side} with {spec!r}; values seen: "
                            f"{values_seen(frame, name)}")
    test_fraction = options.test_fraction or 0.25
    refuse_too_small(file, y, test_fraction, n_rows=n_rows)
    train_idx, test_idx = train_test_indices(y, test_fraction, seed=options.seed)
    x_train, x_test, names = encode_tabular(frame[train_idx].select(features),
                                            frame[test_idx].select(features))
    return Dataset(
        name=name,
        modality="tabular",
        x_train=x_train,
        y_train=y[train_idx],
        x_test=x_test,
        y_test=y[test_idx],
        n_classes=len(classes),
        feature_names=names,
        protected_train={k: g[train_idx] for k, g in groups.items()},
        protected_test={k: g[test_idx] for k, g in groups.items()},
        favorable_label=1,
        group_names=declared_group_names(protected, getattr(options, "group_names", None) or {}),
        provenance=(f"{described}; label {label!r}"
                    + (f" (1 = {options.favorable_label!r})" if options.favorable_label is not None
                       else f" (classes {', '.join(map(str, classes.tolist()))})")
                    + f"; dropped {n_rows - frame.height} rows with missing values (non-finite cells: "
                    f"{n_infinite} infinite, {n_nan} NaN); stratified "
                    f"test split {test_fraction} seed {options.seed}"),
    )
