"""Your images as one parquet file: a column of encoded image bytes, a label column and optional protected columns.

The index (built where the trial is planned) reads only the label and protected columns and the file's row-group
sizes, never the image bytes; a row is named by its position in the file, so a split or a subsample is a set of
positions. A split is read through Ray Data's public API alone: one task per row group that holds a wanted row
(``ray.data.range`` over those groups, ``map_batches``), each reading its group with pyarrow in batches, keeping
the wanted positions and decoding their images (pixels scaled to [0, 1], channels first, flattened, like the
folder layout). Rows come in file order (each rank's local shuffle buffer mixes them in training). Labels are
numbered in sorted order, or 1 for ``favorable_label`` and 0 for the rest; each protected column becomes 1
(privileged value) / 0, available to the bias study when the data set is read into memory.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from ..errors import DataError
from .base import train_test_indices
from .image_decode import decoded_shape, image_bytes
from .streamed import StreamedDataset, data_task_args, execution_limits, filesystem

PARQUET_SUFFIXES = (".parquet", ".pq")
VERIFY_BATCH = 256  # rows decoded at a time when every image is checked once on the driver
READ_BATCH = 256  # rows of a row group a read task decodes at a time


def is_parquet(path: str) -> bool:
    return path.lower().rstrip("/").endswith(PARQUET_SUFFIXES)


@dataclass(frozen=True)
class ParquetImagesDataset(StreamedDataset):
    options: Any = None  # ImageFolderOptions
    classes: tuple = ()
    group_starts: np.ndarray | None = None  # file position of each row group's first row, then the row count
    train_rows: np.ndarray | None = None  # file positions of the train split (sorted)
    test_rows: np.ndarray | None = None
    protected: dict[str, np.ndarray] = field(default_factory=dict)  # column -> 1/0 per file row

    def verify(self) -> None:
        """Decode every image once, reading the image column in batches; a row that does not decode is named."""
        if not self.options.verify:
            return
        import pyarrow.parquet as pq

        fs, inner = filesystem(self.options.path, dataset=self.name)
        first = None
        with fs.open_input_file(inner) as handle:
            row = 0
            for batch in pq.ParquetFile(handle).iter_batches(VERIFY_BATCH, columns=[self.options.image_column]):
                for data in batch.column(0).to_pylist():
                    shape = decoded_shape(image_bytes(data), self.options.mode)
                    if shape is None:
                        raise DataError(f"image_folder: {self.options.path} row {row} "
                                        f"({self.options.image_column!r}) does not decode as an image; fix or drop it")
                    first = first or shape
                    if self.options.size is None and shape != first:
                        raise DataError(f"image_folder: {self.options.path} row 0 is {first[1]}x{first[2]} but row "
                                        f"{row} is {shape[1]}x{shape[2]}; set data.options.size: [HEIGHT, WIDTH]")
                    row += 1

    def read(self, split: str, rows: np.ndarray | None) -> Any:
        import ray.data

        positions = self.train_rows if split == "train" else self.test_rows
        if rows is not None:
            positions = positions[rows]
        wanted = np.sort(positions)
        groups = np.unique(np.searchsorted(self.group_starts, wanted, side="right") - 1)
        fs, inner = filesystem(self.options.path, dataset=self.name)
        tasks = data_task_args(self.read_cpus)
        units = ray.data.range(len(groups), override_num_blocks=len(groups))  # one task per row group read
        units.context.execution_options = execution_limits(self.read_cpus, ordered=split == "test")
        reader = ParquetRowGroups(fs, inner, self.group_starts, groups, wanted, ParquetImageFeatures(
            self.options, self.classes))
        return units.map_batches(reader, batch_size=1, batch_format="numpy", **tasks)


class ParquetRowGroups:
    """Ray Data transform of one row-group number (``id``, an index into ``groups``): that group of the file read
    with pyarrow in batches, only the ``wanted`` file positions kept, each batch decoded by ``features``."""

    def __init__(self, fs: Any, path: str, group_starts: np.ndarray, groups: np.ndarray, wanted: np.ndarray,
                 features: "ParquetImageFeatures") -> None:
        self.fs, self.path, self.starts, self.groups, self.wanted = fs, path, group_starts, groups, wanted
        self.features = features

    def __call__(self, batch: dict[str, np.ndarray]) -> Iterator[dict[str, np.ndarray]]:
        import pyarrow.parquet as pq

        o = self.features.options
        columns = [o.image_column, o.label_column, *o.protected]
        for unit in batch["id"].tolist():
            group = int(self.groups[unit])
            position = int(self.starts[group])
            with self.fs.open_input_file(self.path) as handle:
                for part in pq.ParquetFile(handle).iter_batches(READ_BATCH, row_groups=[group], columns=columns):
                    keep = np.isin(np.arange(position, position + part.num_rows), self.wanted)
                    position += part.num_rows
                    if keep.any():
                        yield self.features({c: part.column(c).to_numpy(zero_copy_only=False)[keep]
                                             for c in columns})


class ParquetImageFeatures:
    """The rows of a parquet batch -> ``x`` float32 (B, C*H*W) in [0, 1], ``y``, and ``group:<column>`` 1/0 per
    protected column."""

    def __init__(self, options: Any, classes: tuple) -> None:
        self.options, self.classes = options, classes

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from PIL import Image

        o = self.options
        images = []
        for data in batch[o.image_column]:
            image = Image.open(io.BytesIO(image_bytes(data))).convert(o.mode)
            if o.size is not None:
                image = image.resize((o.size[1], o.size[0]))
            pixels = np.asarray(image, dtype=np.float32) / 255.0
            images.append(pixels.transpose(2, 0, 1) if pixels.ndim == 3 else pixels[None])
        out = {"x": np.stack(images).reshape(len(images), -1),
               "y": class_numbers(batch[o.label_column], self.classes, o.favorable_label)}
        for column, privileged in o.protected.items():
            out[f"group:{column}"] = np.isin(batch[column], privileged).astype(np.int64)
        return out


def class_numbers(values: np.ndarray, classes: tuple, favorable: Any) -> np.ndarray:
    """Label values -> class numbers: 1/0 against ``favorable`` when set, else the position in sorted ``classes``."""
    if favorable is not None:
        return np.asarray([v == favorable for v in values.tolist()], dtype=np.int64)
    lookup = {c: i for i, c in enumerate(classes)}
    return np.asarray([lookup[v] for v in values.tolist()], dtype=np.int64)


def load_parquet_images(options: Any) -> ParquetImagesDataset:
    """The index of an image parquet: labels, protected groups and row-group sizes; the image bytes are not read."""
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    fs, inner = filesystem(options.path, dataset="image_folder")
    if fs.get_file_info(inner).type != pafs.FileType.File:
        raise DataError(f"image_folder: {options.path} does not exist; point data.options.path at a .parquet file")
    with fs.open_input_file(inner) as handle:
        parquet = pq.ParquetFile(handle)
        names = parquet.schema_arrow.names
        wanted = [options.image_column, options.label_column, *options.protected]
        missing = [c for c in wanted if c not in names]
        if missing:
            raise DataError(f"image_folder: {options.path} has no column(s) {', '.join(map(repr, missing))}; its "
                            f"columns: {', '.join(names)} (set data.options.image_column / label_column / protected)")
        table = parquet.read(columns=[options.label_column, *options.protected])
        first = parquet.read_row_group(0, columns=[options.image_column]).column(0)[0].as_py()
        sizes = [parquet.metadata.row_group(k).num_rows for k in range(parquet.num_row_groups)]
    values = table.column(options.label_column).to_numpy(zero_copy_only=False)
    classes = tuple(sorted(set(values.tolist())))
    labels = class_numbers(values, classes, options.favorable_label)
    if len(np.unique(labels)) < 2:
        raise DataError(f"image_folder: label column {options.label_column!r} of {options.path} gives one class "
                        f"({', '.join(map(repr, classes[:10]))}); a classifier needs at least two")
    protected = {}
    for column, privileged in options.protected.items():
        protected[column] = np.isin(table.column(column).to_numpy(zero_copy_only=False), privileged).astype(np.int64)
        if protected[column].min() == protected[column].max():
            raise DataError(f"image_folder: protected.{column}: every row of {options.path} is "
                            f"{'privileged' if protected[column][0] else 'unprivileged'} with {privileged!r}")
    shape = decoded_shape(image_bytes(first), options.mode)
    if shape is None:
        raise DataError(f"image_folder: {options.path} row 0 ({options.image_column!r}) does not decode as an "
                        "image; fix or drop it")
    shape = (shape[0], *options.size) if options.size is not None else shape
    train, test = train_test_indices(labels, options.test_fraction, seed=options.seed)
    n_classes = 2 if options.favorable_label is not None else len(classes)
    return ParquetImagesDataset(
        name="image_folder", modality="image", n_classes=n_classes, n_features=int(np.prod(shape)),
        train_labels=labels[train], n_test=len(test), read_cpus=options.read_cpus, image_shape=shape,
        provenance=(f"image parquet {options.path}: {len(labels)} rows, label {options.label_column!r} "
                    + (f"(1 = {options.favorable_label!r})" if options.favorable_label is not None
                       else f"({n_classes} classes)")
                    + (f", protected {', '.join(options.protected)}" if options.protected else "")
                    + f"; stratified test split {options.test_fraction} seed {options.seed}; pixels/255, "
                    f"mode {options.mode}"),
        options=options, classes=classes, group_starts=np.cumsum([0, *sizes]),
        train_rows=train, test_rows=test, protected=protected,
    )
