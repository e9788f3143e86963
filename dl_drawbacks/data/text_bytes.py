"""A real English byte-level corpus that ships with scikit-learn, for next-token models.

The corpus is the concatenation, sorted by file name, of ``sklearn/datasets/descr/*.rst`` (the
data set descriptions; about 43 kB in scikit-learn 1.9). Tokens are bytes (vocabulary 256). The
last ``test_fraction`` of the stream (default 0.10) is test; each part is cut into
non-overlapping windows of ``seq_len`` with targets shifted by one byte.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from ..registry import DATASETS
from .base import Dataset, DatasetOptions, refuse_unused
from .checksums import sha256
from .sklearn_files import sklearn_datasets_dir, sklearn_version

VOCAB = 256


def corpus_bytes() -> bytes:
    """The corpus: scikit-learn's data set descriptions, concatenated in file-name order."""
    descr = sklearn_datasets_dir() / "descr"
    names = sorted(p.name for p in descr.iterdir() if p.name.endswith(".rst"))
    return b"".join((descr / name).read_bytes() for name in names)


def windows(stream: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping (input, next-token target) windows of ``seq_len`` from a token stream."""
    n = (len(stream) - 1) // seq_len
    x = stream[: n * seq_len].reshape(n, seq_len)
    y = stream[1 : n * seq_len + 1].reshape(n, seq_len)
    return x, y


@DATASETS.register("text_bytes")
def load_text_bytes(options: DatasetOptions) -> Dataset:
    refuse_unused(options, "text_bytes", uses=("test_fraction", "seq_len"))
    data = corpus_bytes()
    stream = np.frombuffer(data, dtype=np.uint8).astype(np.int64)
    test_fraction = options.test_fraction or 0.10
    cut = int(len(stream) * (1 - test_fraction))
    x_train, y_train = windows(stream[:cut], options.seq_len)
    x_test, y_test = windows(stream[cut:], options.seq_len)
    if len(x_train) == 0 or len(x_test) == 0:
        raise DataError(f"text_bytes: seq_len {options.seq_len} leaves no window in the train "
                        f"({cut} bytes) or test ({len(stream) - cut} bytes) part; choose a smaller "
                        "seq_len or another test_fraction")
    return Dataset(
        name="text_bytes",
        modality="tokens",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        n_classes=VOCAB,
        feature_names=tuple(f"t{i}" for i in range(options.seq_len)),
        provenance=(f"scikit-learn {sklearn_version()} sklearn/datasets/descr/*.rst concatenated "
                    f"by file name, {len(data)} bytes, sha256 {sha256(data)}; last "
                    f"{test_fraction} of the stream is test; BSD-3-Clause"),
    )
