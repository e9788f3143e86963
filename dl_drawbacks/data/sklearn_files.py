"""Data files that ship inside scikit-learn, read without importing it.

``import sklearn`` pulls in scipy and pandas (seconds in a fresh Ray worker); a trial that only needs the digits
or the data set descriptions reads the package's files, found by ``importlib.util.find_spec`` (which does not
execute the package), and its version from the installed distribution's metadata.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path


def sklearn_datasets_dir() -> Path:
    """``sklearn/datasets`` of the installed scikit-learn (the package itself is not imported)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("scikit-learn is not installed (a dependency of dl_drawbacks): pip install scikit-learn")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets"


def sklearn_version() -> str:
    return importlib.metadata.version("scikit-learn")
