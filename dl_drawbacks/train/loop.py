"""The training loop of every trial, one function a newcomer can read top to bottom.

It runs the same on one process (PlainEngine) and on Ray Train workers (DeepSpeedEngine, any count);
measurement (time, FLOPs, memory, energy) wraps it, and the study kind adds its evaluation after.
"""

from __future__ import annotations

import math
import time

import torch

from .batches import (REMAINDER_POLICY, effective_micro_batch, micro_batch_weights, micro_batches,
                      remainder_per_epoch, steps_per_epoch)
from .context import StreamSplit, TrialContext
from .engine import GRADIENT_CLIPPING
from .evaluate import eval_logits, loss_and_accuracy, loss_and_accuracy_of
from .instruments import Instruments


LOG_EVERY = 10  # steps between reads of the device-side losses (and the divergence check)


def _any_rank(flag: bool, ctx: TrialContext) -> bool:
    """True on every rank when ``flag`` is True on one (a tensor on the trial's device: nccl has no CPU tensors)."""
    if ctx.world_size == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=ctx.device)
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return bool(t.item())


def _flush(ctx: TrialContext, instruments: Instruments, pending: list[tuple[int, int, torch.Tensor]]) -> bool:
    """Read the pending steps' losses in one transfer, write their rows; True when any rank diverged."""
    instruments.flush()
    if not pending:
        return _any_rank(False, ctx)
    values = torch.stack([loss for _, _, loss in pending]).tolist()
    for (step, epoch, _), value in zip(pending, values):
        if ctx.is_chief:
            ctx.rows.add("loss", value, "nats", split="train_batch", step=step, epoch=epoch)
        ctx.kind.on_step(ctx, step=step, loss=value)
    pending.clear()
    return _any_rank(not all(math.isfinite(v) for v in values), ctx)


def _scores(ctx: TrialContext) -> dict[str, tuple[float, float]]:
    """(loss, accuracy) per split, one forward pass per distinct input: a split that is rows of another
    (``Split.rows_of``: the clean-label training set, its kept and flipped subsets) is scored from that split's
    logits; the logits of the splits the kind names (``StudyKind.eval_logits``) are kept in ``ctx.eval_logits``."""
    keep = set(getattr(ctx.kind, "eval_logits", ())) | {
        s.rows_of[0] for s in ctx.splits.values() if getattr(s, "rows_of", None)}
    ctx.eval_logits = {}
    scores = {}
    for name, split in ctx.splits.items():
        if name == "train" and isinstance(split, StreamSplit):
            continue  # a full pass over streamed training data per evaluation; its batch losses are recorded
        source = getattr(split, "rows_of", None)
        if source is not None and source[0] in ctx.eval_logits:
            logits = ctx.eval_logits[source[0]]
            rows = logits if source[1] is None else logits[torch.as_tensor(source[1], device=logits.device)]
            scores[name] = loss_and_accuracy_of(rows, split.y)
        elif name in keep and not isinstance(split, StreamSplit):
            ctx.eval_logits[name] = eval_logits(ctx.engine, split)
            scores[name] = loss_and_accuracy_of(ctx.eval_logits[name], split.y)
        else:
            scores[name] = loss_and_accuracy(ctx.engine, split)
    return scores


def _record_eval(ctx: TrialContext, *, step: int, epoch: int) -> None:
    metrics = {}
    for name, (loss, acc) in _scores(ctx).items():
        metrics[name] = {"loss": loss, "accuracy": acc}
        if ctx.is_chief:
            ctx.rows.add("loss", loss, "nats", split=name, step=step, epoch=epoch)
            ctx.rows.add("accuracy", acc, "fraction", split=name, step=step, epoch=epoch)
    ctx.kind.on_eval(ctx, step=step, epoch=epoch, metrics=metrics)


def total_steps(ctx: TrialContext) -> tuple[int, int]:
    """(optimizer steps, steps per epoch) for the trial's budget."""
    t = ctx.trial.trainer
    per_epoch = steps_per_epoch(len(ctx.splits["train"]), t.micro_batch, t.deepspeed.grad_accum, ctx.world_size)
    return (t.budget.steps or per_epoch * t.budget.epochs), per_epoch


def _skip(iterator, n: int) -> None:
    for _ in range(n):
        next(iterator)


def record_batching(ctx: TrialContext) -> int:
    """Rows saying how batches were cut; returns the samples each optimizer step processes (all ranks)."""
    t, n = ctx.trial.trainer, len(ctx.splits["train"])
    micro = effective_micro_batch(n, t.micro_batch, ctx.world_size)
    if ctx.is_chief:
        ctx.rows.add("micro_batch_used", micro, "samples", provenance="counted")
        ctx.rows.add("batch_remainder", remainder_per_epoch(n, t.micro_batch, ctx.world_size), "samples",
                     group=REMAINDER_POLICY, provenance="counted")
        ctx.rows.add("gradient_clipping", GRADIENT_CLIPPING, "max grad norm (0: none)", group=t.resolved_engine,
                     provenance="spec")
    return micro * t.deepspeed.grad_accum * ctx.world_size


def train_trial(ctx: TrialContext, instruments: Instruments, checkpointer=None) -> None:
    """Train for the budget. Losses stay on the device and are read every ``LOG_EVERY`` steps, at
    evaluations and at the end (one host sync each); divergence is checked on those reads, so a
    diverged trial stops at most ``LOG_EVERY - 1`` steps after its first non-finite loss."""
    trainer = ctx.trial.trainer
    kind = ctx.kind
    n_steps, per_epoch = total_steps(ctx)
    eval_every = trainer.budget.eval_every or per_epoch
    shard = dict(micro_batch=trainer.micro_batch, rank=ctx.rank, world_size=ctx.world_size,
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
    pending: list[tuple[int, int, torch.Tensor]] = []
    for step in range(start + 1, n_steps + 1):
        instruments.step_begins(step)
        step_loss = None
        for _ in range(trainer.deepspeed.grad_accum):
            x, y, epoch = next(batches)
            loss = ctx.engine.loss(x, y, None if weights is None else next(weights))
            ctx.engine.backward(loss)
            ctx.engine.step()
            step_loss = loss.detach() if step_loss is None else step_loss + loss.detach()
        pending.append((step, epoch, step_loss / trainer.deepspeed.grad_accum))
        evaluate = step % eval_every == 0 or step == n_steps
        saves = checkpointer is not None and checkpointer.active and step % checkpointer.every == 0
        if evaluate or saves or step % LOG_EVERY == 0:
            if evaluate:
                instruments.pause()
            if _flush(ctx, instruments, pending):
                diverged = True
                break
            if evaluate:
                _record_eval(ctx, step=step, epoch=epoch)
                instruments.resume()
        if checkpointer:
            checkpointer.after_step(step, n_steps)
    instruments.stop_training(steps_done=step)
    if ctx.is_chief:
        ctx.rows.add("diverged", float(diverged), "bool", step=step)
        ctx.rows.add("steps", step, "count")
        ctx.rows.add("wall_time_to_end", time.perf_counter() - instruments.t_trial_start, "s")
    if not diverged:
        kind.after_training(ctx)
