"""Data sets by name: ``load_dataset("adult")`` returns a ``Dataset`` of train/test arrays.

Every module here that registers a data set (``@DATASETS.register``) is found by ``dl_drawbacks.plugins``:
digits, adult, german, text_bytes, tabular_file. Adding one is a new module, no edit here.
"""

from .base import Dataset, DatasetOptions, clear_cache, load_dataset

__all__ = ["Dataset", "DatasetOptions", "clear_cache", "load_dataset"]
