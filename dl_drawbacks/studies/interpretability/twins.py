"""Models of the trial's architecture trained like the trial's model, for the reference similarities of
the sanity checks: an independently trained twin (another seed, the same data) and a twin trained on
permuted labels (Adebayo et al. 2018, sec. 4, data randomisation test). One process, PlainEngine, the
trial's optimiser and micro-batch; the trial's step budget, or, for a twin that must fit its labels (the permuted
one: Zhang et al. 2017 show a network can memorise random labels, and a twin that has not is no control), until
its train accuracy on its own labels reaches ``FIT`` or ``max_steps`` have run.
"""

from __future__ import annotations

import copy

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


FIT = 0.9  # train accuracy on its own labels that a data-randomisation twin must reach to count as a control
CHECK_EVERY = 250  # steps between the fit checks of a twin trained until it fits


def fit_accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    from .attributions import predict

    return float((predict(model, x).argmax(1) == np.asarray(y)).mean())


def train_twin(
    ctx: TrialContext, x: np.ndarray, y: np.ndarray, *, seed: int, max_steps: int | None = None
) -> tuple[nn.Module, int]:
    """A fresh model of the trial's family and size, trained on (x, y) from ``seed``, in eval mode, and the steps
    it ran: the trial's budget, or (``max_steps`` given) until it fits (x, y) to ``FIT`` or ran ``max_steps``."""
    trial = ctx.trial
    params = resolve_params(trial.model.family, trial.model.size, dict(trial.model.params))
    torch.manual_seed(seed)
    model = MODELS.get(trial.model.family).build(params, data_shape(ctx))
    engine = PlainEngine(model, trial.trainer, ctx.device)
    n_steps, _ = total_steps(ctx)
    batches = micro_batches(
        Split(np.asarray(x, np.float32), np.asarray(y)),
        micro_batch=trial.trainer.micro_batch,
        rank=0,
        world_size=1,
        seed=seed,
        device=ctx.device,
    )

    def run(steps: int) -> None:
        engine.train()
        for _ in range(steps * trial.trainer.deepspeed.grad_accum):
            xb, yb, _ = next(batches)
            engine.backward(engine.loss(xb, yb))
            engine.step()

    if max_steps is None:
        run(n_steps)
        return engine.module.float().eval(), n_steps
    step = 0
    while step < max_steps:
        chunk = min(CHECK_EVERY, max_steps - step)
        run(chunk)
        step += chunk
        if fit_accuracy(copy.deepcopy(engine.module).float().eval(), x, y) >= FIT:
            break
    return engine.module.float().eval(), step


def permuted_labels(y: np.ndarray, *, seed: int) -> np.ndarray:
    """The training labels in a seeded random order (every input keeps a label, none keeps its own on purpose)."""
    return np.random.default_rng(seed).permutation(np.asarray(y))
