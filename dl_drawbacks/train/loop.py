"""The training loop of every trial, one function a newcomer can read top to bottom.

It runs the same on one process (PlainEngine) and on N Ray Train workers (DeepSpeedEngine);
measurement (time, FLOPs, memory, energy) wraps it, and the study kind adds its evaluation after.
"""

from __future__ import annotations

import math
import time

import torch

from ..studies.base import get_kind
from .batches import micro_batch_weights, micro_batches, steps_per_epoch
from .context import TrialContext
from .evaluate import classification_loss, loss_and_accuracy, weighted_classification_loss
from .instruments import Instruments


def _any_rank(flag: bool, ctx: TrialContext) -> bool:
    if ctx.world_size == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0])
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return bool(t.item())


def _record_eval(ctx: TrialContext, *, step: int, epoch: int) -> None:
    metrics = {}
    for name, split in ctx.splits.items():
        loss, acc = loss_and_accuracy(ctx.engine, split)
        metrics[name] = {"loss": loss, "accuracy": acc}
        if ctx.is_chief:
            ctx.rows.add("loss", loss, "nats", split=name, step=step, epoch=epoch)
            ctx.rows.add("accuracy", acc, "fraction", split=name, step=step, epoch=epoch)
    get_kind(ctx.trial.study).on_eval(ctx, step=step, epoch=epoch, metrics=metrics)


def total_steps(ctx: TrialContext) -> tuple[int, int]:
    """(optimizer steps, steps per epoch) for the trial's budget."""
    t = ctx.trial.trainer
    per_epoch = steps_per_epoch(len(ctx.splits["train"]), t.deepspeed.micro_batch, t.deepspeed.grad_accum, ctx.world_size)
    return (t.budget.steps or per_epoch * t.budget.epochs), per_epoch


def _skip(iterator, n: int) -> None:
    for _ in range(n):
        next(iterator)


def train_trial(ctx: TrialContext, instruments: Instruments, checkpointer=None) -> None:
    trainer = ctx.trial.trainer
    kind = get_kind(ctx.trial.study)
    n_steps, per_epoch = total_steps(ctx)
    eval_every = trainer.budget.eval_every or per_epoch
    shard = dict(micro_batch=trainer.deepspeed.micro_batch, rank=ctx.rank, world_size=ctx.world_size,
                 seed=ctx.trial.seed, device=ctx.device)
    batches = micro_batches(ctx.splits["train"], **shard)
    weights = micro_batch_weights(ctx.splits["train"], **shard)  # None unless the kind set Split.weights
    kind.before_training(ctx)
    start = checkpointer.restore() if checkpointer else 0  # > 0 after Ray Train restarted the workers
    _skip(batches, start * trainer.deepspeed.grad_accum)
    if weights is not None:
        _skip(weights, start * trainer.deepspeed.grad_accum)
    instruments.start_training()
    diverged = False
    step = start
    for step in range(start + 1, n_steps + 1):
        instruments.step_begins()
        losses = []
        for _ in range(trainer.deepspeed.grad_accum):
            x, y, epoch = next(batches)
            logits = ctx.engine.forward(x)
            loss = classification_loss(logits, y) if weights is None else weighted_classification_loss(logits, y, next(weights))
            ctx.engine.backward(loss)
            ctx.engine.step()
            losses.append(float(loss))
        instruments.step_ends(step)
        step_loss = sum(losses) / len(losses)
        if ctx.is_chief:
            ctx.rows.add("loss", step_loss, "nats", split="train_batch", step=step, epoch=epoch)
        kind.on_step(ctx, step=step, loss=step_loss)
        if _any_rank(not math.isfinite(step_loss), ctx):
            diverged = True
            break
        if step % eval_every == 0 or step == n_steps:
            _record_eval(ctx, step=step, epoch=epoch)
        if checkpointer:
            checkpointer.after_step(step, n_steps)
    instruments.stop_training(steps_done=step)
    if ctx.is_chief:
        ctx.rows.add("diverged", float(diverged), "bool", step=step)
        ctx.rows.add("steps", step, "count")
        ctx.rows.add("wall_time_to_end", time.perf_counter() - instruments.t_trial_start, "s")
    if not diverged:
        kind.after_training(ctx)
