"""Your own images, streamed: torchvision's ImageFolder layout (``PATH/<class>/<image>``), local or in a bucket, or
a parquet file of image bytes and labels (``PATH`` ending in .parquet: ``image_parquet.py``).

Classes are the sub-folder names in sorted order (torchvision's ``ImageFolder`` rule); images are files with
torchvision's image extensions. The test split is stratified and random (``test_fraction``, ``seed``). Images are
read and decoded by ``ray.data.read_images`` and turned into features in Ray Data (``map_batches``): pixels scaled
to [0, 1], channels first, flattened; ``image_shape`` (C, H, W) lets an image model reshape them. Before any trial
every image is decoded once on the driver (``verify``), so a damaged file stops the run naming that file.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from ..errors import DataError
from ..registry import DATASETS
from .base import train_test_indices
from .image_decode import decoded_shape
from .image_parquet import ParquetImagesDataset, is_parquet, load_parquet_images
from .streamed import (StreamedDataset, StreamedOptions, data_task_args, execution_limits,
                       filesystem)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")  # torchvision's
VERIFY_THREADS = 8


class ImageFolderOptions(StreamedOptions):
    modality: ClassVar[str] = "image"

    test_fraction: float = Field(0.2, gt=0, lt=1, description="share of each class held out as test")
    mode: Literal["L", "RGB"] = Field("L", description="PIL mode images are converted to: L (grey) or RGB")
    size: tuple[int, int] | None = Field(
        None, description="[height, width] every image is resized to; None = images must all have one size")
    verify: bool = Field(True, description="decode every image once before any trial (a damaged file stops the run)")
    image_column: str = Field("image", description="parquet only: the column of encoded image bytes")
    label_column: str = Field("label", description="parquet only: the label column")
    favorable_label: str | int | float | None = Field(
        None, description="parquet only: label value that becomes class 1, all others 0; None keeps all classes")
    protected: dict[str, list[str | int | float]] = Field(
        default_factory=dict, description="parquet only: protected column -> privileged values (for the bias study)")


PARQUET_ONLY = ("image_column", "label_column", "favorable_label", "protected")


@dataclass(frozen=True)
class ImageFolderDataset(StreamedDataset):
    options: ImageFolderOptions | None = None
    classes: tuple[str, ...] = ()
    train_paths: np.ndarray | None = None
    test_paths: np.ndarray | None = None

    def verify(self) -> None:
        """Decode every image once (``verify`` option): a damaged file or a stray size stops the run here."""
        if self.options.verify:
            fs, _ = filesystem(self.options.path, dataset=self.name)
            _decode_all(fs, [*self.train_paths.tolist(), *self.test_paths.tolist()], self.options)

    def read(self, split: str, rows: np.ndarray | None) -> Any:
        import ray.data

        paths = self.train_paths if split == "train" else self.test_paths
        if rows is not None:
            paths = paths[rows]
        fs, _ = filesystem(self.options.path, dataset=self.name)
        tasks = data_task_args(self.read_cpus)
        images = ray.data.read_images(paths.tolist(), filesystem=fs, include_paths=True, mode=self.options.mode,
                                      size=self.options.size, ray_remote_args=tasks)
        images.context.execution_options = execution_limits(self.read_cpus, ordered=split == "test")
        return images.map_batches(ImageFeatures(self.classes), batch_format="numpy", **tasks)


class ImageFeatures:
    """Ray Data batch transform: decoded images -> ``x`` float32 (B, C*H*W) in [0, 1], ``y`` from the class folder."""

    def __init__(self, classes: tuple[str, ...]) -> None:
        self.index = {name: i for i, name in enumerate(classes)}

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        images = np.asarray(batch["image"], dtype=np.float32) / 255.0
        if images.ndim == 4:  # (B, H, W, C) -> channels first
            images = images.transpose(0, 3, 1, 2)
        labels = [self.index[str(p).replace("\\", "/").rsplit("/", 2)[-2]] for p in batch["path"]]
        return {"x": images.reshape(len(images), -1), "y": np.asarray(labels, dtype=np.int64)}


def _index(fs: Any, root: str, path: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(paths, labels, classes) of the images at depth two under ``root``; only names are listed."""
    import pyarrow.fs as pafs

    found = fs.get_file_info(root)
    if found.type == pafs.FileType.NotFound:
        raise DataError(f"image_folder: {path} does not exist; point data.options.path at a folder of class "
                        "sub-folders")
    if found.type != pafs.FileType.Directory and "://" not in path:
        raise DataError(f"image_folder: {path} is a file; point data.options.path at a folder of class sub-folders")
    pairs = []
    for info in fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True)):
        rel = info.path[len(root):].lstrip("/").split("/")
        if info.type == pafs.FileType.File and len(rel) == 2 and rel[1].lower().endswith(IMAGE_EXTENSIONS):
            pairs.append((info.path, rel[0]))
    classes = tuple(sorted({c for _, c in pairs}))
    if len(classes) < 2:
        raise DataError(f"image_folder: {path} has {len(classes)} class sub-folder(s) with images "
                        f"({', '.join(classes) or 'none'}); it needs PATH/<class>/<image>.png for at least 2 classes")
    pairs.sort()
    lookup = {c: i for i, c in enumerate(classes)}
    return (np.array([p for p, _ in pairs]), np.array([lookup[c] for _, c in pairs], dtype=np.int64), classes)


def _decoded_size(fs: Any, file: str, mode: str) -> tuple[str, tuple[int, ...] | None]:
    """(file, decoded shape as (C, H, W)) or (file, None) when the file does not decode."""
    with fs.open_input_file(file) as handle:
        return file, decoded_shape(handle.read(), mode)


def _decode_all(fs: Any, files: list[str], options: ImageFolderOptions) -> tuple[int, ...]:
    """Decode ``files`` (a bounded thread pool: at most ``VERIFY_THREADS`` images held at a time) and return the
    (C, H, W) every image becomes; a file that does not decode, or sizes that differ without ``size``, is a
    one-line DataError naming the file."""
    shapes: dict[tuple[int, ...], str] = {}
    with ThreadPoolExecutor(VERIFY_THREADS) as pool:
        for file, shape in pool.map(lambda f: _decoded_size(fs, f, options.mode), files):
            if shape is None:
                raise DataError(f"image_folder: {file} does not decode as an image; remove or replace it")
            shapes.setdefault(shape, file)
            if options.size is None and len(shapes) > 1:
                (a, fa), (b, fb) = list(shapes.items())[:2]
                raise DataError(f"image_folder: {fa} is {a[1]}x{a[2]} but {fb} is {b[1]}x{b[2]}; set "
                                "data.options.size: [HEIGHT, WIDTH] to resize every image")
    channels, height, width = next(iter(shapes))
    return (channels, *options.size) if options.size is not None else (channels, height, width)


@DATASETS.register("image_folder")
def load_image_folder(options: ImageFolderOptions) -> ImageFolderDataset | ParquetImagesDataset:
    """Your images (PATH/<class>/<image>, or a .parquet of images, labels, protected columns), streamed; options: path.
    """
    if is_parquet(options.path):
        return load_parquet_images(options)
    unused = sorted(set(PARQUET_ONLY) & options.model_fields_set)
    if unused:
        raise DataError(f"image_folder: option(s) {', '.join(unused)} apply to a .parquet path only; {options.path} "
                        "is a folder of class sub-folders (its labels are the folder names): remove them")
    fs, root = filesystem(options.path, dataset="image_folder")
    paths, labels, classes = _index(fs, root, options.path)
    train, test = train_test_indices(labels, options.test_fraction, seed=options.seed)
    shape = _decode_all(fs, paths[:1].tolist(), options)
    return ImageFolderDataset(
        name="image_folder", modality="image", n_classes=len(classes), n_features=int(np.prod(shape)),
        train_labels=labels[train], n_test=len(test), read_cpus=options.read_cpus, image_shape=shape,
        provenance=(f"image folder {options.path}: {len(paths)} images in {len(classes)} classes "
                    f"({', '.join(classes[:10])}{', ...' if len(classes) > 10 else ''}); stratified test split "
                    f"{options.test_fraction} seed {options.seed}; pixels/255, mode {options.mode}"),
        options=options, classes=classes, train_paths=paths[train], test_paths=paths[test],
    )
