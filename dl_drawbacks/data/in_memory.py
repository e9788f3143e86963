"""A streamed data set read whole into arrays, for the study kinds that need arrays (bias, interpretability, hparams,
overfitting): read and decoded by the same Ray Data pipeline that streams it, in the trial's process, in index order.

Only where its decoded size fits ``read_into_memory_mb`` (checked on the driver before any trial,
``refuse_too_big``); a data set too big for memory stays with the kinds that stream (compute, data).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError
from .base import Dataset, cached, load_dataset, parse_options
from .streamed import StreamedDataset

GROUP_PREFIX = "group:"  # a streamed split's column of protected-group membership (1 privileged, 0 not)
READ_BATCH = 4096


def load_arrays(name: str, options: dict[str, Any] | None) -> Dataset:
    """Data set ``name`` as arrays: ``load_dataset`` itself for array data, else the streamed data set read whole
    (cached in-process per name and options, like ``load_dataset``; ``clear_cache`` forgets both)."""
    ds = load_dataset(name, options)
    if not isinstance(ds, StreamedDataset):
        return ds
    return cached(("in memory", name, parse_options(name, options).model_dump_json()), lambda: read_into_memory(ds))


def decoded_bytes(ds: StreamedDataset) -> int:
    """Bytes the arrays of ``ds`` take in memory: float32 features (images), or int64 windows and targets (tokens)."""
    per_row = ds.n_features * (16 if ds.modality == "tokens" else 4)
    return (len(ds.train_labels) + ds.n_test) * per_row


def refuse_too_big(ds: StreamedDataset, options: Any, study: str) -> None:
    """One line when the ``study`` kind, which needs arrays, would read a streamed data set bigger than allowed."""
    limit = options.read_into_memory_mb
    need = decoded_bytes(ds) / 2**20
    if need > limit:
        raise DataError(f"dataset {ds.name!r}: the {study} study reads it into memory, {need:.3g} MB decoded, over "
                        f"data.options.read_into_memory_mb {limit:.3g}; raise it, subsample the data, or use a "
                        "study that streams it (compute, data)")


def refuse_workers(name: str, study: str, workers: int) -> None:
    """One line when the ``study`` kind, which reads a streamed data set into memory, would do so on each of
    ``workers`` Ray Train workers: a dataset built on a worker places its read tasks in the workers' placement group,
    whose CPUs they hold, and waits forever (ray-project/ray#32856); only the streaming kinds hand theirs over."""
    raise DataError(f"dataset {name!r}: the {study} study reads it into memory on each worker, which cannot read "
                    f"streamed data from inside {workers} Ray Train workers; set trainer.workers: 1 or use a study "
                    "that streams it (compute, data)")


def read_into_memory(ds: StreamedDataset) -> Dataset:
    """Every row of both splits of ``ds``, through its Ray Data pipeline, in index order (``preserve_order``)."""
    arrays = {}
    for split in ("train", "test"):
        data = ds.read(split, None)
        data.context.execution_options.preserve_order = True
        batches = list(data.iter_batches(batch_size=READ_BATCH, batch_format="numpy"))
        arrays[split] = {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}
    train, test = arrays["train"], arrays["test"]
    if not np.array_equal(train["y"], ds.train_labels) and ds.modality != "tokens":
        raise DataError(f"dataset {ds.name!r}: its data changed since it was indexed (labels differ); run again")
    x_dtype = np.int64 if ds.modality == "tokens" else np.float32
    groups = [k for k in train if k.startswith(GROUP_PREFIX)]
    return Dataset(
        name=ds.name, modality=ds.modality,
        x_train=train["x"].astype(x_dtype), y_train=train["y"].astype(np.int64),
        x_test=test["x"].astype(x_dtype), y_test=test["y"].astype(np.int64),
        n_classes=ds.n_classes,
        feature_names=tuple(f"t_{i}" if ds.modality == "tokens" else f"pixel_{i}" for i in range(ds.n_features)),
        image_shape=ds.image_shape,
        protected_train={k.removeprefix(GROUP_PREFIX): train[k].astype(np.int64) for k in groups},
        protected_test={k.removeprefix(GROUP_PREFIX): test[k].astype(np.int64) for k in groups},
        provenance=f"{ds.provenance}; read into memory through Ray Data",
    )

