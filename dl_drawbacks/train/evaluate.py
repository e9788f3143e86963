"""Loss, accuracy and predicted probabilities of a model on a split (every rank runs it: under
ZeRO-3 a forward pass needs all ranks; only the chief records)."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from .batches import eval_batches
from .context import Split


def classification_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy; for token models over every position."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1))


def weighted_classification_loss(logits: torch.Tensor, y: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Per-sample weighted cross-entropy, mean over the batch (weights averaging 1 keep the loss scale)."""
    per_sample = F.cross_entropy(logits.float(), y, reduction="none")
    return (per_sample * weights.float()).mean()


@torch.no_grad()
def predict_proba(engine, split: Split, *, batch: int = 1024) -> np.ndarray:
    """Softmax probabilities (n, classes) — or (n, T, vocab) for token models — in float32."""
    engine.train(False)
    device = next(engine.module.parameters()).device
    out = [
        torch.softmax(engine.forward(x).float(), dim=-1).cpu().numpy() for x, _ in eval_batches(split, batch, device)
    ]
    engine.train(True)
    return np.concatenate(out) if out else np.zeros((0,), dtype=np.float32)


@torch.no_grad()
def per_sample_correct(engine, split: Split, *, batch: int = 1024) -> np.ndarray:
    """1.0/0.0 per sample of ``split`` in its order, predictions and labels from one pass (a streamed split is
    read once, so each prediction meets its own label)."""
    engine.train(False)
    device = next(engine.module.parameters()).device
    out = [(engine.forward(x).argmax(-1) == y).float().cpu().numpy() for x, y in eval_batches(split, batch, device)]
    engine.train(True)
    return np.concatenate(out) if out else np.zeros((0,), dtype=np.float32)


@torch.no_grad()
def eval_logits(engine, split: Split, *, batch: int = 1024) -> torch.Tensor:
    """Float32 logits of every sample of an in-memory split, in order, from one forward pass."""
    engine.train(False)
    device = next(engine.module.parameters()).device
    out = [engine.forward(x).float() for x, _ in eval_batches(split, batch, device)]
    engine.train(True)
    return torch.cat(out)


def correct_of(logits: torch.Tensor, y: np.ndarray) -> np.ndarray:
    """1.0/0.0 per sample, from logits already computed (what ``per_sample_correct`` returns for them)."""
    target = torch.as_tensor(np.asarray(y), device=logits.device)
    return (logits.argmax(-1) == target).float().cpu().numpy()


def loss_and_accuracy_of(logits: torch.Tensor, y: np.ndarray) -> tuple[float, float]:
    """What ``loss_and_accuracy`` returns, from logits already computed (the mean over every sample)."""
    if len(y) == 0:
        return float("nan"), float("nan")
    target = torch.as_tensor(np.asarray(y), device=logits.device)
    return float(classification_loss(logits, target)), float((logits.argmax(-1) == target).float().mean())


@torch.no_grad()
def loss_and_accuracy(engine, split: Split, *, batch: int = 1024) -> tuple[float, float]:
    engine.train(False)
    device = next(engine.module.parameters()).device
    total_loss, correct, count = 0.0, 0, 0
    for x, y in eval_batches(split, batch, device):
        logits = engine.forward(x).float()
        total_loss += float(classification_loss(logits, y)) * y.numel()
        correct += int((logits.argmax(-1) == y).sum())
        count += y.numel()
    engine.train(True)
    return (total_loss / count, correct / count) if count else (float("nan"), float("nan"))
