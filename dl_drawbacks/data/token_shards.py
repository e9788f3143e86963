"""Your own token corpus, streamed: nanoGPT-style flat ``train.bin``/``val.bin`` of uint16 or uint32 token ids.

The files (local or in a bucket) are never read whole: the index holds only their sizes; each window of
``seq_len`` + 1 tokens is read in a Ray Data task by memory map (local) or by one range request (object
storage). Windows do not overlap; targets are the inputs shifted by one token (nanoGPT's ``get_batch`` with
fixed rather than random offsets, so an epoch and a subsample are defined). ``val.bin`` is the test split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from ..errors import DataError
from ..registry import DATASETS
from .streamed import (StreamedDataset, StreamedOptions, data_task_args, execution_limits,
                       filesystem)

FILES = {"train": "train.bin", "test": "val.bin"}
WINDOWS_PER_BLOCK = 4096  # window numbers per Ray Data block: read tasks of a few MB, many of them in parallel


class TokenShardsOptions(StreamedOptions):
    modality: ClassVar[str] = "tokens"

    dtype: Literal["uint16", "uint32"] = Field("uint16", description="token id type of the files (nanoGPT: uint16)")
    vocab_size: int = Field(ge=2, le=2**32, description="number of token ids (the model's vocabulary)")
    seq_len: int = Field(64, ge=2, le=1 << 20, description="tokens per training window")
    test_windows: int | None = Field(
        None, ge=1, description="evaluate on the first N windows of val.bin (None = all of it)")


@dataclass(frozen=True)
class TokenShardsDataset(StreamedDataset):
    options: TokenShardsOptions | None = None

    def read(self, split: str, rows: np.ndarray | None) -> Any:
        import ray.data

        o = self.options
        n = len(self.train_labels) if split == "train" else self.n_test
        windows = np.arange(n, dtype=np.int64) if rows is None else rows.astype(np.int64)
        tasks = data_task_args(self.read_cpus)
        ds = ray.data.from_numpy(np.array_split(windows, max(1, len(windows) // WINDOWS_PER_BLOCK)))
        ds.context.execution_options = execution_limits(self.read_cpus, ordered=split == "test")
        reader = TokenWindows(o.path, FILES[split], o.dtype, o.seq_len)
        return ds.map_batches(reader, batch_format="numpy", **tasks)


class TokenWindows:
    """Ray Data batch transform: window numbers -> ``x``/``y`` int64 (B, seq_len), read by memory map or range."""

    def __init__(self, path: str, file: str, dtype: str, seq_len: int) -> None:
        self.path, self.file, self.dtype, self.seq_len = path, file, np.dtype(dtype), seq_len

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        fs, root = filesystem(self.path, dataset="token_shards")
        starts = batch["data"] * self.seq_len
        span = self.seq_len + 1
        if "://" not in self.path:
            tokens = np.memmap(f"{root}/{self.file}", dtype=self.dtype, mode="r")
            chunks = np.stack([tokens[s:s + span] for s in starts])
        else:
            size = self.dtype.itemsize
            with fs.open_input_file(f"{root}/{self.file}") as handle:
                chunks = np.stack([np.frombuffer(handle.read_at(span * size, int(s) * size), dtype=self.dtype)
                                   for s in starts])
        chunks = chunks.astype(np.int64)
        return {"x": chunks[:, :-1], "y": chunks[:, 1:]}


def _tokens_in(fs: Any, root: str, options: TokenShardsOptions, file: str) -> int:
    import pyarrow.fs as pafs

    info = fs.get_file_info(f"{root}/{file}")
    if info.type != pafs.FileType.File:
        raise DataError(f"token_shards: {options.path}/{file} does not exist; the folder needs train.bin and val.bin "
                        "(nanoGPT's prepare.py layout)")
    itemsize = np.dtype(options.dtype).itemsize
    if info.size % itemsize:
        raise DataError(f"token_shards: {options.path}/{file} is {info.size} bytes, not a multiple of {itemsize} "
                        f"({options.dtype}); set data.options.dtype to the type it was written with")
    return info.size // itemsize


def _first_tokens_fit(fs: Any, root: str, options: TokenShardsOptions) -> None:
    """Refuse a vocabulary smaller than the ids the files hold (checked on the first window of train.bin)."""
    size = np.dtype(options.dtype).itemsize
    with fs.open_input_file(f"{root}/train.bin") as handle:
        head = np.frombuffer(handle.read_at((options.seq_len + 1) * size, 0), dtype=options.dtype)
    if head.size and int(head.max()) >= options.vocab_size:
        raise DataError(f"token_shards: {options.path}/train.bin holds token id {int(head.max())} but vocab_size is "
                        f"{options.vocab_size}; raise data.options.vocab_size")


@DATASETS.register("token_shards")
def load_token_shards(options: TokenShardsOptions) -> TokenShardsDataset:
    """Your token files (train.bin/val.bin, uint16/uint32, local or s3://), streamed; options: path, vocab_size."""
    fs, root = filesystem(options.path, dataset="token_shards")
    windows = {split: (_tokens_in(fs, root, options, file) - 1) // options.seq_len for split, file in FILES.items()}
    if min(windows.values()) < 1:
        raise DataError(f"token_shards: train.bin or val.bin in {options.path} holds fewer than seq_len + 1 = "
                        f"{options.seq_len + 1} tokens; choose a smaller seq_len")
    _first_tokens_fit(fs, root, options)
    n_test = min(windows["test"], options.test_windows or windows["test"])
    return TokenShardsDataset(
        name="token_shards", modality="tokens", n_classes=options.vocab_size, n_features=options.seq_len,
        train_labels=np.zeros(windows["train"], np.int8), n_test=n_test, read_cpus=options.read_cpus,
        seq_len=options.seq_len, options=options,
        provenance=(f"token shards {options.path}: train.bin {windows['train']} windows, val.bin {n_test} "
                    f"windows of {options.seq_len} {options.dtype} tokens, vocabulary {options.vocab_size}"),
    )
