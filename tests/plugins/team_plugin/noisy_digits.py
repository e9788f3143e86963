"""The team's own data set: scikit-learn's digits with Gaussian pixel noise."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from dl_drawbacks.data.base import Dataset, DatasetOptions, refuse_unused, standardise, train_test_indices
from dl_drawbacks.registry import DATASETS


@DATASETS.register("noisy_digits")
def noisy_digits(options: DatasetOptions) -> Dataset:
    refuse_unused(options, "noisy_digits", uses=())
    bunch = load_digits()
    rng = np.random.default_rng(options.seed)
    x = bunch.data + rng.normal(0, 2.0, bunch.data.shape)
    y = bunch.target.astype(np.int64)
    train, test = train_test_indices(y, 0.25, seed=options.seed)
    x_train, x_test = standardise(x[train], x[test])
    return Dataset(name="noisy_digits", modality="image", x_train=x_train, y_train=y[train], x_test=x_test, y_test=y[test],
                   n_classes=10, feature_names=tuple(f"p{i}" for i in range(64)), image_shape=(1, 8, 8),
                   provenance="scikit-learn digits + N(0, 2) pixel noise (team plug-in)")
