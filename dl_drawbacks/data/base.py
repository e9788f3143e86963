"""Dataset: the arrays a trial trains on, its options, and ``load_dataset`` by registered name.

A loader is a function ``(options) -> Dataset`` registered with ``@DATASETS.register``; the type of its
``options`` parameter is its options model: ``DatasetOptions`` for the built-in files and arrays, or a data
set's own frozen pydantic model (``extra="forbid"``), so a new data set never edits ``DatasetOptions``.
Features are standardised with statistics of the train split only; protected attributes are
kept out of ``x`` (unless ``include_protected``) so that bias is measured, not learnt from.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Callable, ClassVar, Iterable, Mapping, get_type_hints

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import DataError
from ..registry import DATASETS

MODALITIES = ("tabular", "image", "tokens")


@dataclass(frozen=True)
class Dataset:
    """Train and test arrays plus what a study needs to interpret them.

    tabular/image: ``x`` float32 (n, d), ``y`` int64 class labels; tokens: ``x`` int64 (n, T)
    input windows and ``y`` int64 (n, T) next-token targets. Arrays are read-only because
    ``load_dataset`` caches them; copy (``np.array(x)``, ``torch.tensor(x)``) before writing.
    """

    name: str
    modality: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    feature_names: tuple[str, ...]
    image_shape: tuple[int, ...] | None = None
    protected_train: Mapping[str, np.ndarray] = field(default_factory=dict)
    protected_test: Mapping[str, np.ndarray] = field(default_factory=dict)
    favorable_label: int = 1
    provenance: str = ""
    group_names: Mapping[str, Mapping[int, str]] = field(default_factory=dict)  # attribute -> code -> its name


    def __post_init__(self) -> None:
        assert self.modality in MODALITIES, self.modality
        x_dtype = np.int64 if self.modality == "tokens" else np.float32
        for x, y in ((self.x_train, self.y_train), (self.x_test, self.y_test)):
            assert x.dtype == x_dtype and y.dtype == np.int64, (x.dtype, y.dtype)
            assert x.ndim == 2 and len(x) == len(y) and x.shape[1] == len(self.feature_names)
        assert self.protected_train.keys() == self.protected_test.keys()
        assert set(self.group_names) <= set(self.protected_train), "group names of attributes the data set has"
        for split, n in (("protected_train", len(self.y_train)), ("protected_test", len(self.y_test))):
            groups = getattr(self, split)
            assert all(g.dtype == np.int64 and g.shape == (n,) for g in groups.values())
            object.__setattr__(self, split, MappingProxyType(dict(groups)))
        for array in (self.x_train, self.y_train, self.x_test, self.y_test,
                      *self.protected_train.values(), *self.protected_test.values()):
            array.flags.writeable = False

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    def subsample(self, n: int, *, seed: int) -> Dataset:
        """A stratified, seeded subsample of ``n`` train rows; the test split is untouched."""
        total = len(self.y_train)
        if not 1 <= n <= total:
            raise DataError(f"dataset {self.name!r}: cannot subsample {n} train rows; "
                            f"the train split has {total}, choose 1..{total}")
        return self._with_train(stratified_indices(self._strata(), n, seed=seed))

    def split_validation(
        self, fraction: float, *, seed: int
    ) -> tuple[Dataset, tuple[np.ndarray, np.ndarray]]:
        """Hold out a stratified ``fraction`` of train as validation: (rest, (x_val, y_val)).

        Features stay standardised with the statistics of the whole train split.
        """
        total = len(self.y_train)
        n_val = round(fraction * total)
        if not 0 < fraction < 1 or not 1 <= n_val < total:
            raise DataError(f"dataset {self.name!r}: validation fraction {fraction} of {total} "
                            "train rows leaves an empty split; choose a fraction in (0, 1)")
        val = stratified_indices(self._strata(), n_val, seed=seed)
        keep = np.setdiff1d(np.arange(total), val)
        return self._with_train(keep), (self.x_train[val], self.y_train[val])

    def _strata(self) -> np.ndarray:
        """Labels to stratify on; token windows have none, so one stratum (a plain random sample)."""
        return np.zeros(len(self.y_train), np.int64) if self.modality == "tokens" else self.y_train

    def _with_train(self, idx: np.ndarray) -> Dataset:
        return replace(self, x_train=self.x_train[idx], y_train=self.y_train[idx],
                       protected_train={k: v[idx] for k, v in self.protected_train.items()})


class LoaderOptions(BaseModel):
    """Base of every data set's options model: frozen, unknown keys refused.

    ``modality`` is the one the data set always has (checked at planning without loading it);
    None: it depends on the options, so planning loads the data set to learn it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    modality: ClassVar[str | None] = None


class DatasetOptions(LoaderOptions):
    """How to load the built-in files and arrays. Options a loader does not use are refused, not ignored."""

    test_fraction: float | None = Field(
        None, gt=0, lt=1,
        description="share held out as test; None = the data set's default (0.25; text_bytes: last 0.10)")
    seed: int = Field(0, description="seed of the random test split (fixed splits do not use it)")
    path: str | None = Field(
        None, description="folder with the raw files (adult, german) or the .csv/.parquet file (tabular_file)")
    seq_len: int = Field(64, ge=2, description="length of each token window (text_bytes)")
    label: str | None = Field(None, description="label column (tabular_file)")
    favorable_label: str | int | float | None = Field(
        None, description="label value that becomes class 1, all others 0 (tabular_file); None keeps all classes")
    protected: dict[str, list[str | int | float] | str] = Field(
        default_factory=dict,
        description="protected column -> privileged values, or a comparison like '>= 25' (tabular_file)")
    features: tuple[str, ...] | None = Field(
        None, description="feature columns (tabular_file); None = every column but the label and protected")
    include_protected: bool = Field(
        False, description="also put the protected columns into x (adult, german, tabular_file)")
    group_names: dict[str, dict[int, str]] = Field(
        default_factory=dict,
        description="protected column -> {0: name, 1: name} of its unprivileged and privileged group (tabular_file); "
                    "unset: named from `protected` (e.g. 'sex in Male' / 'sex not in Male')")


def refuse_unused(options: DatasetOptions, name: str, uses: Iterable[str]) -> None:
    """Raise when ``options`` sets a field that data set ``name`` would ignore."""
    unused = sorted(options.model_fields_set - set(uses) - {"seed"})
    if unused:
        raise DataError(f"dataset {name!r} does not use option(s) {', '.join(unused)}; "
                        f"remove them (it uses: {', '.join(sorted(uses)) or 'seed only'})")


_CACHE: dict[tuple, Any] = {}


def options_model(name: str) -> type[LoaderOptions]:
    """The options model data set ``name`` declares: the annotation of its loader's first parameter."""
    loader = DATASETS.get(name)
    hints = get_type_hints(loader)
    first = next(iter(hints.values()))
    assert isinstance(first, type) and issubclass(first, LoaderOptions), f"{name}: annotate the loader's options"
    return first


def dataset_modality(name: str, options: BaseModel | dict[str, Any] | None) -> str:
    """The modality of data set ``name`` with these options (checked first): declared by its options model,
    else loaded."""
    declared = parse_options(name, options).modality
    return declared or load_dataset(name, options).modality


def parse_options(name: str, options: BaseModel | dict[str, Any] | None) -> BaseModel:
    """``options`` validated by data set ``name``'s options model (one-line DataError with the key path)."""
    model = options_model(name)
    if isinstance(options, model):
        return options
    try:
        return model.model_validate(options or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise DataError(f"dataset {name!r} option {where}: unknown option; "
                            f"known: {', '.join(sorted(model.model_fields))}") from None
        raise DataError(f"dataset {name!r} option {where}: {err['msg']}") from None


def load_dataset(name: str, options: BaseModel | dict[str, Any] | None = None) -> Dataset:
    """Load the registered data set ``name``; cached in-process per (name, options)."""
    loader = DATASETS.get(name)
    options = parse_options(name, options)
    return cached((name, options.model_dump_json(), frozenset(options.model_fields_set)), lambda: loader(options))


def clear_cache() -> None:
    """Forget every loaded data set (e.g. after a user's file changed on disk)."""
    _CACHE.clear()


def cached(key: tuple, make: Callable[[], Any]) -> Any:
    """``make()`` once per ``key`` in this process (the cache ``clear_cache`` empties)."""
    if key not in _CACHE:
        _CACHE[key] = make()
    return _CACHE[key]


def stratified_indices(labels: np.ndarray, n: int, *, seed: int) -> np.ndarray:
    """Sorted indices of ``n`` rows, each class of ``labels`` in proportion (largest remainder).

    Per class the rows come from one seeded permutation, so a smaller ``n`` mostly picks a subset.
    """
    rng = np.random.default_rng(seed)
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quota = counts * n / counts.sum()
    take = np.floor(quota).astype(np.int64)
    order = np.lexsort((rng.random(len(classes)), -(quota - take)))
    take[order[: n - take.sum()]] += 1
    picks = [rng.permutation(np.flatnonzero(inverse == k))[: take[k]] for k in range(len(classes))]
    return np.sort(np.concatenate(picks))


def train_test_indices(
    labels: np.ndarray, test_fraction: float, *, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """A stratified random split of ``range(len(labels))`` into (train, test) indices."""
    test = stratified_indices(labels, round(test_fraction * len(labels)), seed=seed)
    return np.setdiff1d(np.arange(len(labels)), test), test


def encode_tabular(
    train: pl.DataFrame, test: pl.DataFrame
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Numeric columns standardised with train mean/std; other columns one-hot over train's values.

    One-hot columns stay 0/1 (named ``column=value``); a test value unseen in train is all zeros.
    """
    train_cols, test_cols, names = [], [], []
    for col, dtype in train.schema.items():
        if dtype.is_numeric():
            a, b = (f[col].cast(pl.Float64).to_numpy() for f in (train, test))
            mean, std = a.mean(), a.std()
            std = std if std > 0 else 1.0
            train_cols.append((a - mean) / std)
            test_cols.append((b - mean) / std)
            names.append(col)
        else:
            a, b = (f[col].cast(pl.String).to_numpy() for f in (train, test))
            for value in sorted(set(a.tolist())):
                train_cols.append(a == value)
                test_cols.append(b == value)
                names.append(f"{col}={value}")
    return _stack(train_cols, train.height), _stack(test_cols, test.height), tuple(names)


MOSTLY_NUMERIC = 0.9  # a text column whose non-empty cells are at least this share numbers is a typo, not categories


def refuse_mostly_numeric(frame: pl.DataFrame, columns: Iterable[str], source: str) -> None:
    """Raise when a text column is numbers but for a few cells: one-hot encoding it would silently turn
    every distinct number into a column of its own."""
    for col in columns:
        if frame.schema[col] != pl.String:
            continue
        cells = frame[col].drop_nulls()
        numbers = cells.str.strip_chars().cast(pl.Float64, strict=False)
        n_numeric = numbers.is_not_null().sum()
        if cells.len() and n_numeric < cells.len() and n_numeric >= MOSTLY_NUMERIC * cells.len():
            row = int(frame.with_row_index().filter(
                pl.col(col).is_not_null() & pl.col(col).str.strip_chars().cast(pl.Float64, strict=False).is_null()
            )["index"][0])
            raise DataError(f"{source}: column {col!r} holds numbers in {n_numeric} of {cells.len()} rows but "
                            f"{frame[col][row]!r} in data row {row + 1}; fix those cells (leave a missing value empty)")


def _stack(columns: list[np.ndarray], n_rows: int) -> np.ndarray:
    return np.column_stack(columns).astype(np.float32) if columns else np.zeros((n_rows, 0), np.float32)


def standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays scaled per column with the train split's mean and std (std 0 -> 1), float32."""
    mean, std = train.mean(axis=0), train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return ((train - mean) / std).astype(np.float32), ((test - mean) / std).astype(np.float32)
