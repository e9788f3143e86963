"""Everything one worker of one trial holds: its place in the group, its data, its rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from ..rows import RowBuffer
from ..spec.models import TrialSpec


@dataclass
class Split:
    """Arrays of one split (train/val/test); ``groups`` holds protected attributes when present."""

    x: np.ndarray
    y: np.ndarray
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    weights: np.ndarray | None = None  # per-sample loss weights (train only; e.g. bias reweighing); None = unweighted
    rows_of: tuple[str, np.ndarray | None] | None = None  # these inputs are rows (None: all, in order) of the named
    # split: an evaluation scores them from that split's logits instead of a forward pass of their own

    def __len__(self) -> int:
        return len(self.y)


SHARDED_SPLIT = "train"  # the one streamed split Ray Train shards across ranks; every rank reads the others whole


def whole_split_name(name: str) -> str:
    """The trainer's dataset that holds split ``name`` whole (not sharded): the split itself, or ``train_whole``."""
    return f"{name}_whole" if name == SHARDED_SPLIT else name


@dataclass
class StreamSplit:
    """A split streamed through Ray Data (``data/streamed.py``): ``n`` samples, read by ``build`` (a lazy Ray Data
    dataset of ``x``/``y``) or, on Ray Train workers, taken from the trainer's shard of the split ``name``.

    On a worker, ``build`` is never called: a dataset built there would place its read tasks in the worker group's
    placement group, whose CPUs the workers hold (the trial reserves the read CPUs in its own group), and wait
    forever (ray-project/ray#32856); the trainer hands every split whole as well (``whole_split_name``), built where
    the trial runs."""

    name: str
    n: int
    build: Callable[[], Any]
    shard: Callable[[str], Any] | None = None  # ray.train.get_dataset_shard on TorchTrainer workers
    weights: None = None  # per-sample weights are not supported on streamed data
    rows: np.ndarray | None = None  # positions of the data set's train index it reads, in order; None: a whole split

    def __len__(self) -> int:
        return self.n

    def iterator(self) -> Any:
        """The ``ray.data.DataIterator`` to read: this rank's shard under Ray Train, else the whole split."""
        return self.shard(self.name) if self.shard is not None else self.build().iterator()

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the whole split (not this rank's shard), read into memory in the order of the split's rows;
        for what needs arrays of a streamed split, e.g. the data study's classical baselines."""
        if self.shard is not None:  # ordered by the trainer's data config (stream_trainer.py)
            data = self.shard(whole_split_name(self.name))
        else:
            data = self.build()
            data.context.execution_options.preserve_order = True
        batches = list(data.iter_batches(batch_size=4096, batch_format="numpy"))
        return np.concatenate([b["x"] for b in batches]), np.concatenate([b["y"] for b in batches])


def split_arrays(split: Split | StreamSplit) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of a split, held in memory or read whole from its stream."""
    return split.arrays() if isinstance(split, StreamSplit) else (split.x, split.y)


@dataclass
class TrialContext:
    trial: TrialSpec
    run_id: str
    rank: int
    local_rank: int
    world_size: int
    device: torch.device
    rows: RowBuffer
    kind: Any = None  # the trial's StudyKind, resolved once (studies.base.get_kind)
    treatment: Any = None  # the study kind's Treatment, parsed once from trial.treatment
    dataset: Any = None  # dl_drawbacks.data.base.Dataset (the loaded, unmodified data set)
    splits: dict[str, Split | StreamSplit] = field(default_factory=dict)
    dataset_shard: Callable[[str], Any] | None = None  # ray.train.get_dataset_shard on TorchTrainer workers
    model: torch.nn.Module | None = None
    engine: Any = None
    info: dict[str, Any] = field(default_factory=dict)  # things kinds hand from prepare to evaluate
    eval_logits: dict[str, torch.Tensor] = field(default_factory=dict)  # the last evaluation's logits of the
    # splits its kind names in StudyKind.eval_logits (and of the splits others are rows of), for on_eval

    @property
    def is_chief(self) -> bool:
        return self.rank == 0
