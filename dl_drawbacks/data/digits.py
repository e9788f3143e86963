"""scikit-learn's handwritten digits: 1,797 8x8 grey images of 0-9, shipped inside scikit-learn.

Pixels are standardised per position with train statistics (a constant pixel keeps std 1);
``image_shape`` (1, 8, 8) lets an image model reshape ``x``. The test split is stratified and
random (``test_fraction``, default 0.25, and ``seed``).
"""

from __future__ import annotations

import gzip

import numpy as np

from ..registry import DATASETS
from .base import Dataset, DatasetOptions, refuse_unused, standardise, train_test_indices
from .sklearn_files import sklearn_datasets_dir, sklearn_version


@DATASETS.register("digits")
def load_digits(options: DatasetOptions) -> Dataset:
    refuse_unused(options, "digits", uses=("test_fraction",))
    with gzip.open(sklearn_datasets_dir() / "data" / "digits.csv.gz", "rt") as f:  # what load_digits reads
        data = np.loadtxt(f, delimiter=",")
    x, y = data[:, :-1].astype(np.float64), data[:, -1].astype(np.int64)
    test_fraction = options.test_fraction or 0.25
    train_idx, test_idx = train_test_indices(y, test_fraction, seed=options.seed)
    x_train, x_test = standardise(x[train_idx], x[test_idx])
    return Dataset(
        name="digits",
        modality="image",
        x_train=x_train,
        y_train=y[train_idx],
        x_test=x_test,
        y_test=y[test_idx],
        n_classes=10,
        feature_names=tuple(f"pixel_{r}_{c}" for r in range(8) for c in range(8)),
        image_shape=(1, 8, 8),
        provenance=(f"scikit-learn {sklearn_version()} load_digits (UCI Optical Recognition of "
                    f"Handwritten Digits, Alpaydin & Kaynak 1998, CC BY 4.0); stratified test "
                    f"split {test_fraction} seed {options.seed}"),
    )
