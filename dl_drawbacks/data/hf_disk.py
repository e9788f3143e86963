"""A Hugging Face ``datasets`` folder written by ``save_to_disk`` (a ``Dataset`` or a ``DatasetDict``), opened with
``datasets.load_from_disk`` (offline: it only reads the folder's Arrow files) as a tabular classification data set.

Its Arrow table becomes a polars frame and is encoded like ``tabular_file`` (``table_dataset``): a label column,
optional protected columns and features, numeric columns standardised with train statistics, the others one-hot.
A ``DatasetDict`` contributes the split named by ``split`` (default ``train``); the test split is drawn from it,
stratified and seeded, so every study sees the same split rule as for its other tables.
"""

from __future__ import annotations

from typing import ClassVar

import polars as pl
from pydantic import Field

from ..errors import DataError
from ..registry import DATASETS
from .base import Dataset, LoaderOptions
from .tabular_file import table_dataset


class HFDiskOptions(LoaderOptions):
    """Options of the ``hf_disk`` data set."""

    modality: ClassVar[str] = "tabular"
    path: str = Field(description="folder written by datasets' save_to_disk (a Dataset or a DatasetDict)")
    split: str = Field("train", description="the DatasetDict split to use (ignored for a plain Dataset: refused)")
    label: str = Field(description="label column")
    favorable_label: str | int | float | None = Field(
        None, description="label value that becomes class 1, all others 0; None keeps all classes")
    protected: dict[str, list[str | int | float] | str] = Field(
        default_factory=dict, description="protected column -> privileged values, or a comparison like '>= 25'")
    features: tuple[str, ...] | None = Field(
        None, description="feature columns; None = every column but the label and protected")
    include_protected: bool = Field(False, description="also put the protected columns into x")
    test_fraction: float = Field(0.25, gt=0, lt=1, description="share held out as test (stratified)")
    seed: int = Field(0, description="seed of the test split")


def read_hf_folder(options: HFDiskOptions) -> tuple[pl.DataFrame, str]:
    """(the table of the folder's dataset or chosen split, what it is) — a folder that is not one is one line."""
    from pathlib import Path

    try:
        import datasets
    except ImportError:
        raise DataError("hf_disk needs the Hugging Face datasets package: pip install 'dl-drawbacks[hf]'") from None
    folder = Path(options.path).expanduser()
    try:
        loaded = datasets.load_from_disk(str(folder))
    except FileNotFoundError as exc:
        raise DataError(f"hf_disk: {str(exc).splitlines()[0].rstrip('.')}; point data.options.path at a folder "
                        "written by Dataset.save_to_disk or DatasetDict.save_to_disk") from None
    if isinstance(loaded, datasets.DatasetDict):
        if options.split not in loaded:
            raise DataError(f"hf_disk: {folder} has splits {', '.join(loaded)}, not {options.split!r}; set "
                            "data.options.split to one of them")
        loaded, what = loaded[options.split], f"split {options.split!r} of"
    elif "split" in options.model_fields_set:
        raise DataError(f"hf_disk: {folder} holds one Dataset, not a DatasetDict; remove data.options.split")
    else:
        what = "the Dataset in"
    return pl.from_arrow(loaded.data.table), f"{what} {folder} (datasets {datasets.__version__})"


@DATASETS.register("hf_disk")
def load_hf_disk(options: HFDiskOptions) -> Dataset:
    """A Hugging Face datasets folder (save_to_disk) as a tabular classification table; options: path, label."""
    frame, what = read_hf_folder(options)
    return table_dataset(frame, options, name="hf_disk", source=str(options.path),
                         described=f"datasets.load_from_disk: {what}, {frame.height} rows")
