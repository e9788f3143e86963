"""Generated image folders (ImageFolder layout) on a local disk or a bucket, for tests and benchmarks.

Class k's images are bright in a class-specific block of pixels on seeded noise, so a model can learn them.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def png_bytes(pixels: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def class_image(label: int, n_classes: int, rng: np.random.Generator, size: int = 8) -> np.ndarray:
    pixels = rng.integers(0, 80, (size, size), dtype=np.uint8)
    band = size // n_classes or 1
    pixels[:, label * band:(label + 1) * band] += 150
    return pixels


def write_image_folder(uri: str, n_images: int, *, n_classes: int = 4, size: int = 8, seed: int = 0,
                       threads: int = 16) -> str:
    """``n_images`` PNGs under ``uri/<class_k>/<i>.png`` (a local path or any URI pyarrow.fs opens)."""
    import pyarrow.fs as pafs

    fs, root = pafs.FileSystem.from_uri(uri) if "://" in uri else (pafs.LocalFileSystem(), uri)
    for k in range(n_classes):
        fs.create_dir(f"{root}/class_{k}")

    def write(i: int) -> None:
        label = i % n_classes
        data = png_bytes(class_image(label, n_classes, np.random.default_rng([seed, i]), size))
        with fs.open_output_stream(f"{root}/class_{label}/{i:06d}.png") as out:
            out.write(data)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(write, range(n_images)))
    return uri


def write_image_parquet(uri: str, n_images: int, *, n_classes: int = 2, size: int = 8, seed: int = 0,
                        row_group_size: int = 64) -> str:
    """One parquet file at ``uri`` (local path or any URI pyarrow.fs opens): ``image`` (PNG bytes), ``label``
    (``class_k``) and a protected column ``site`` (``north`` for every third row, else ``south``), written in
    row groups of ``row_group_size`` so a reader meets several."""
    import pyarrow as pa
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    labels = [i % n_classes for i in range(n_images)]
    table = pa.table({
        "image": [png_bytes(class_image(k, n_classes, np.random.default_rng([seed, i]), size))
                  for i, k in enumerate(labels)],
        "label": [f"class_{k}" for k in labels],
        "site": ["north" if i % 3 == 0 else "south" for i in range(n_images)],
    })
    fs, path = pafs.FileSystem.from_uri(uri) if "://" in uri else (pafs.LocalFileSystem(), uri)
    with fs.open_output_stream(path) as out:
        pq.write_table(table, out, row_group_size=row_group_size)
    return uri
