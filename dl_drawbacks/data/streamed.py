"""Data sets larger than memory: a small index where the trial is planned, the samples streamed by Ray Data.

A streamed data set registers like any other (``@DATASETS.register`` on a loader whose options model subclasses
``StreamedOptions``; unknown keys refused with their key path); its loader checks and indexes the data (file names
and labels, never the samples) and returns a ``StreamedDataset``. Its splits are lazy Ray Data
datasets (``read``): a multi-worker trial hands them to its TorchTrainer (``datasets=``, the train split sharded
with ``streaming_split``), and each rank, or a 1-worker trial, iterates a ``ray.data.DataIterator`` the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from ..errors import DataError
from .base import LoaderOptions, options_model, parse_options, stratified_indices

if TYPE_CHECKING:
    import ray.data


class StreamedOptions(LoaderOptions):
    """Options every streamed data set has; each data set extends this with its own."""

    path: str = Field(description="local folder/file or an object-store URI (s3://…, gs://…) that pyarrow.fs opens")
    seed: int = Field(0, description="seed of the random test split and of the validation hold-out")
    read_cpus: float = Field(
        1.0, gt=0, le=64,
        description="CPUs each trial reserves for Ray Data's read/decode tasks besides its workers")
    read_into_memory_mb: float = Field(
        2048, gt=0,
        description="largest decoded size (MB) a study that needs arrays (bias, interpretability, hparams, "
                    "overfitting) reads into each trial's memory; bigger data sets stream in compute and data only")


@dataclass(frozen=True)
class StreamedDataset(ABC):
    """An opened streamed data set: what a model needs to know and the labels of its train split.

    ``train_labels`` are the train split's class labels in index order (all zeros for unlabelled token
    windows); positions into it select rows for ``read``.
    """

    name: str
    modality: str
    n_classes: int
    n_features: int
    train_labels: np.ndarray
    n_test: int
    read_cpus: float
    image_shape: tuple[int, ...] | None = None
    seq_len: int = 0
    provenance: str = ""

    def verify(self) -> None:
        """A full check of the data that ``open`` leaves out (e.g. decoding every file), run once on the driver
        before any trial; nothing by default."""

    @abstractmethod
    def read(self, split: str, rows: np.ndarray | None) -> "ray.data.Dataset":
        """A lazy Ray Data dataset of columns ``x`` and ``y`` for ``split`` ("train" or "test"); ``rows``
        (train only) are the positions of the train index it holds, in the order it reads them; None = all."""


def selected_rows(
    ds: StreamedDataset, *, n_train: int | None, seed: int, val_fraction: float = 0.0, val_seed: int = 0
) -> dict[str, np.ndarray]:
    """Train-index positions of each split: the validation hold-out first (seeded by ``val_seed``, the same for
    every size and seed), then the rest subsampled to ``n_train`` with ``seed``, both stratified by label
    (``stratified_indices``: the same selection for every trial of that n and seed)."""
    total = len(ds.train_labels)
    rest = np.arange(total)
    rows: dict[str, np.ndarray] = {}
    if val_fraction > 0:
        n_val = round(val_fraction * total)
        if not 1 <= n_val < total:
            raise DataError(f"dataset {ds.name!r}: validation fraction {val_fraction} of {total} train rows leaves "
                            "an empty split; choose a fraction in (0, 1)")
        rows["val"] = stratified_indices(ds.train_labels, n_val, seed=val_seed)
        rest = np.setdiff1d(rest, rows["val"])
    if n_train is not None:
        if not 1 <= n_train <= len(rest):
            raise DataError(f"dataset {ds.name!r}: cannot subsample {n_train} train rows; the train split has "
                            f"{len(rest)}, choose 1..{len(rest)}")
        rest = rest[stratified_indices(ds.train_labels[rest], n_train, seed=seed)]
    rows["train"] = rest
    return rows


def is_streamed(name: str) -> bool:
    """Whether the registered data set ``name`` is streamed (its options model is a ``StreamedOptions``)."""
    return issubclass(options_model(name), StreamedOptions)


def reserved_read_cpus(name: str, options: dict[str, Any]) -> float:
    """CPUs a trial on data set ``name`` reserves for Ray Data besides its workers (0 for array data)."""
    return parse_options(name, options).read_cpus if is_streamed(name) else 0.0


def data_task_args(read_cpus: float) -> dict[str, Any]:
    """Ray remote arguments of a streamed split's read and transform tasks: at most one CPU each, and inside the
    trial's placement group, where ``read_cpus`` are reserved, when there is one (Ray Data's tasks otherwise leave
    it — checked on Ray 2.60 — and wait behind trials whose workers hold every core)."""
    import ray.util
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    args: dict[str, Any] = {"num_cpus": min(1.0, read_cpus)}
    group = ray.util.get_current_placement_group()
    if group is not None:
        args["scheduling_strategy"] = PlacementGroupSchedulingStrategy(group)
    return args


def execution_limits(read_cpus: float, *, ordered: bool = False) -> Any:
    """Ray Data execution options that keep a streamed split's tasks within the CPUs the trial reserved;
    ``ordered`` keeps rows in the order they are read (the test split: every trial evaluates its samples in one
    order, so per-sample outcomes pair across trials)."""
    from ray.data import ExecutionOptions, ExecutionResources

    return ExecutionOptions(resource_limits=ExecutionResources(cpu=read_cpus), preserve_order=ordered)


def filesystem(path: str, *, dataset: str) -> tuple[Any, str]:
    """(pyarrow filesystem, path inside it) for a local path or an object-store URI; a bad one is one line."""
    import pyarrow
    import pyarrow.fs as pafs

    if "://" not in path:
        from pathlib import Path

        return pafs.LocalFileSystem(), str(Path(path).expanduser().resolve())
    try:
        fs, inner = pafs.FileSystem.from_uri(path)
    except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError, ValueError) as exc:
        raise DataError(f"dataset {dataset!r} option path {path!r}: {str(exc).splitlines()[0]}; use a local path, "
                        "s3://BUCKET/PREFIX or gs://BUCKET/PREFIX") from None
    return fs, inner.rstrip("/")
