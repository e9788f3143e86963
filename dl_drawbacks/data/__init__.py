"""Data sets by name: ``load_dataset("adult")`` returns a ``Dataset`` of train/test arrays.

Importing this package registers every data set in ``DATASETS``: digits, adult, german,
text_bytes and tabular_file. Adding one is a new module here with ``@DATASETS.register``.
"""

from . import digits, tabular_file, text_bytes, uci_adult, uci_german  # noqa: F401  (registration)
from .base import Dataset, DatasetOptions, clear_cache, load_dataset

__all__ = ["Dataset", "DatasetOptions", "clear_cache", "load_dataset"]
