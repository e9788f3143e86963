"""Models of the trial's architecture trained like the trial's model, for the reference similarities of
the sanity checks: an independently trained twin (another seed, the same data) and a twin trained on
permuted labels (Adebayo et al. 2018, sec. 4, data randomisation test). One process, PlainEngine, the
trial's optimiser, micro-batch and step budget.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ...models.base import resolve_params
from ...registry import MODELS
from ...train.batches import micro_batches
from ...train.context import Split, TrialContext
from ...train.engine import PlainEngine
from ...train.loop import total_steps
from ...train.worker import data_shape


def train_twin(ctx: TrialContext, x: np.ndarray, y: np.ndarray, *, seed: int) -> nn.Module:
    """A fresh model of the trial's family and size, trained on (x, y) from ``seed``; returned in eval mode."""
    trial = ctx.trial
    params = resolve_params(trial.model.family, trial.model.size, dict(trial.model.params))
    torch.manual_seed(seed)
    model = MODELS.get(trial.model.family).build(params, data_shape(ctx))
    engine = PlainEngine(model, trial.trainer, ctx.device)
    n_steps, _ = total_steps(ctx)
    ds = trial.trainer.deepspeed
    batches = micro_batches(
        Split(np.asarray(x, np.float32), np.asarray(y)),
        micro_batch=ds.micro_batch,
        rank=0,
        world_size=1,
        seed=seed,
        device=ctx.device,
    )
    engine.train()
    for _ in range(n_steps * ds.grad_accum):
        xb, yb, _ = next(batches)
        engine.backward(engine.loss(xb, yb))
        engine.step()
    return engine.module.float().eval()


def permuted_labels(y: np.ndarray, *, seed: int) -> np.ndarray:
    """The training labels in a seeded random order (every input keeps a label, none keeps its own on purpose)."""
    return np.random.default_rng(seed).permutation(np.asarray(y))
