"""``load_dataset`` by registered name, for array data sets (``base``) and streamed ones (``streamed``) alike."""

from __future__ import annotations

from typing import Any

from ..registry import DATASETS
from . import base, streamed


def load_dataset(name: str, options: Any = None) -> base.Dataset | streamed.StreamedDataset:
    """The registered data set ``name``: its arrays, or the index of a streamed data set; cached in-process
    per (name, options)."""
    loader = DATASETS.get(name)
    if isinstance(loader, type) and issubclass(loader, streamed.StreamedSource):
        return streamed.open_streamed(name, loader, options)
    return base.load_dataset(name, options)


def clear_cache() -> None:
    """Forget every loaded data set and index (e.g. after a user's files changed)."""
    base.clear_cache()
    streamed.clear_cache()
