"""Data sets by name: ``load_dataset("adult")`` returns a ``Dataset`` of train/test arrays.

Every module here that registers a data set (``@DATASETS.register``) is found by ``dl_drawbacks.plugins``:
digits, mnist1d, adult, german, compas, text_bytes, tabular_file. Adding one is a new module, no edit here;
a data set with options of its own annotates its loader with a ``LoaderOptions`` subclass (see mnist1d).
"""

from .base import Dataset, DatasetOptions, LoaderOptions, clear_cache, load_dataset

__all__ = ["Dataset", "DatasetOptions", "LoaderOptions", "clear_cache", "load_dataset"]
