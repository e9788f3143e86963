"""MNIST-1D (Greydanus 2020, "Scaling down deep learning"): 1-D signals of length 40 drawn from ten digit
templates by the ``mnist1d`` package's own generator (``mnist1d.data.make_dataset``, offline; its
``get_dataset`` downloads and is never called).

The package's split is kept (first ``1 - test_fraction`` of its shuffled samples train, the rest test)
and its global standardisation too, so accuracies compare with the paper's table (logistic 32%, MLP 68%,
CNN 94%). ``label_noise`` replaces the label of that share of *train* samples (a seeded choice) by another
class drawn uniformly, as in the double-descent studies (Nakkiran et al. 2019); test labels stay clean.
Generated arrays are cached on disk (``$DL_DRAWBACKS_CACHE`` or ``~/.cache/dl_drawbacks``), keyed by the
options and the package version, because the generator is pure Python (~1 ms per sample on one core).
"""

from __future__ import annotations

import hashlib
import os
import random
from importlib.metadata import version
from pathlib import Path
from typing import ClassVar

import numpy as np
from pydantic import Field

from ..errors import DataError
from ..registry import DATASETS
from .base import Dataset, LoaderOptions

LENGTH = 40  # the package's final_seq_length


class MNIST1DOptions(LoaderOptions):
    """Options of the ``mnist1d`` data set."""

    modality: ClassVar[str] = "image"
    num_samples: int = Field(5000, ge=1000, le=1_000_000, description="samples generated (train + test)")
    test_fraction: float = Field(0.2, gt=0, lt=1, description="last share of the generated samples held out as test")
    label_noise: float = Field(0.0, ge=0, lt=1, description="share of train labels replaced by another class")
    shuffle: bool = Field(False, description="the spatially shuffled variant (one fixed permutation of positions)")
    seed: int = Field(42, ge=0, le=2**32 - 1, description="generator seed (the package's default is 42)")


def cache_dir() -> Path:
    return Path(os.environ.get("DL_DRAWBACKS_CACHE", Path.home() / ".cache" / "dl_drawbacks")) / "mnist1d"


def generate(options: MNIST1DOptions) -> dict[str, np.ndarray]:
    """The package's arrays for these options (x, y, x_test, y_test), from the disk cache or generated."""
    key = f"{version('mnist1d')}|{options.num_samples}|{options.test_fraction}|{options.shuffle}|{options.seed}"
    path = cache_dir() / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
    if path.exists():
        with np.load(path) as cached:
            return dict(cached)
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.train_split = options.num_samples, 1 - options.test_fraction
    args.shuffle_seq, args.seed = options.shuffle, options.seed
    np_state, py_state = np.random.get_state(), random.getstate()  # make_dataset seeds the global generators
    try:
        made = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    arrays = {k: np.asarray(made[k]) for k in ("x", "y", "x_test", "y_test")}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(partial, **arrays)
    partial.replace(path)  # atomic: concurrent workers never read half a file
    return arrays


def noisy_labels(y: np.ndarray, share: float, *, n_classes: int, seed: int) -> np.ndarray:
    """``y`` with round(share·n) seeded entries moved to a different class, uniformly."""
    rng = np.random.default_rng([seed, 1])
    flip = rng.choice(len(y), size=round(share * len(y)), replace=False)
    out = y.copy()
    out[flip] = (y[flip] + rng.integers(1, n_classes, size=len(flip))) % n_classes
    return out


@DATASETS.register("mnist1d")
def load_mnist1d(options: MNIST1DOptions) -> Dataset:
    """MNIST-1D: 1-D digit signals (length 40, 10 classes), generated offline; 1k-1M samples."""
    arrays = generate(options)
    y_train = arrays["y"].astype(np.int64)
    if len(y_train) == 0 or len(arrays["y_test"]) == 0:
        raise DataError(f"dataset 'mnist1d': test_fraction {options.test_fraction} of {options.num_samples} "
                        "samples leaves an empty split")
    if options.label_noise:
        y_train = noisy_labels(y_train, options.label_noise, n_classes=10, seed=options.seed)
    n_train, n_test = len(y_train), len(arrays["y_test"])
    noise = f"; {options.label_noise:.0%} of train labels replaced (seed {options.seed})" if options.label_noise else ""
    return Dataset(
        name="mnist1d",
        modality="image",
        x_train=arrays["x"].astype(np.float32),
        y_train=y_train,
        x_test=arrays["x_test"].astype(np.float32),
        y_test=arrays["y_test"].astype(np.int64),
        n_classes=10,
        feature_names=tuple(f"t_{i}" for i in range(LENGTH)),
        image_shape=(1, LENGTH),
        provenance=(f"mnist1d {version('mnist1d')} make_dataset (Greydanus 2020), generated offline: "
                    f"{options.num_samples} samples, seed {options.seed}"
                    f"{', spatially shuffled' if options.shuffle else ''}; split: first {n_train} train, "
                    f"last {n_test} test (the package's order){noise}"),
    )
