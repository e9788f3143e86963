"""The optimisation engine of a trial: plain PyTorch in one process, DeepSpeed on any number of ranks.

Both expose the same calls (``loss``, ``forward``, ``backward``, ``step``, ``train``) so the training
loop reads the same either way. The loss is computed inside the (compiled) module, so
``torch.compile`` / ``engine.compile()`` see forward and loss as one graph; evaluation (``forward``) runs
eagerly, so its other call signature and its short last batch never recompile the training graph.
Gradient clipping is off in both engines (DeepSpeed's default of 1.0 is overridden, FACTS.md);
``GRADIENT_CLIPPING`` is recorded. Nothing in DeepSpeed synchronises the device per step: its wall-clock
breakdown and throughput timer (which synchronise twice a step when on, DeepSpeed's default) are off.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn

from ..spec.models import TrainerSpec
from .evaluate import classification_loss, weighted_classification_loss

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
GRADIENT_CLIPPING = 0.0  # max gradient norm in both engines; 0 = no clipping


class WithLoss(nn.Module):
    """``model`` with its loss inside: ``(x, y[, w])`` -> scalar loss; ``(x)`` -> logits (evaluation)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, w: torch.Tensor | None = None) -> torch.Tensor:
        logits = self.model(x)
        if y is None:
            return logits
        return classification_loss(logits, y) if w is None else weighted_classification_loss(logits, y, w)


def make_optimizer(model: nn.Module, trainer: TrainerSpec, device: torch.device) -> torch.optim.Optimizer:
    o = trainer.optimizer
    if o.name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
    fused = {"fused": True} if device.type == "cuda" else {}  # one kernel per step instead of one per tensor
    return torch.optim.AdamW(model.parameters(), lr=o.lr, weight_decay=o.weight_decay, **fused)


def zero3_persistence_threshold(n_parameters: int) -> int:
    """Tensors below 1% of the model (biases, norms) stay resident, capped at DeepSpeed's default 1e5, so
    small CPU models still partition their weight matrices and large ones get the library's behaviour."""
    return max(1, min(100_000, n_parameters // 100))


def deepspeed_config(trainer: TrainerSpec, world_size: int, *, n_parameters: int) -> dict[str, Any]:
    """A config with nothing hidden: clipping as in PlainEngine, no grad norm or overflow check where unused."""
    ds = trainer.deepspeed
    zero: dict[str, Any] = {"stage": ds.zero_stage}
    if ds.zero_stage == 3:
        zero["stage3_param_persistence_threshold"] = zero3_persistence_threshold(n_parameters)
        zero["stage3_prefetch_bucket_size"] = 50_000_000  # DeepSpeed's default, stated
    if ds.zero_stage == 2 or (ds.zero_stage == 1 and trainer.precision != "bf16"):
        zero["compute_grad_norm"] = False  # nothing reads it without clipping (DeepSpeed allows it for 1/2)
    return {
        "train_micro_batch_size_per_gpu": trainer.micro_batch,
        "gradient_accumulation_steps": ds.grad_accum,
        "train_batch_size": trainer.micro_batch * ds.grad_accum * world_size,
        "gradient_clipping": GRADIENT_CLIPPING,
        "zero_optimization": zero,
        "bf16": {"enabled": trainer.precision == "bf16", "check_grad_overflow": False},  # no loss scale in bf16
        "fp16": {"enabled": trainer.precision == "fp16"},  # dynamic loss scaling needs its overflow check
        "zero_allow_untested_optimizer": True,
        "steps_per_print": 1 << 30,
        "wall_clock_breakdown": False,
        "timers": {"throughput": {"enabled": False, "synchronized": False}},  # default: a device sync per start/stop
    }


class PlainEngine:
    """Single-process training with autocast for bf16/fp16 and gradient accumulation."""

    def __init__(self, model: nn.Module, trainer: TrainerSpec, device: torch.device) -> None:
        self.module = model.to(device)
        self.optimizer = make_optimizer(model, trainer, device)
        self._eager = WithLoss(self.module)
        self._call = torch.compile(self._eager) if trainer.compile else self._eager
        self.grad_accum = trainer.deepspeed.grad_accum
        precision = trainer.precision
        self._autocast = (
            torch.autocast(device.type, dtype=DTYPES[precision]) if precision != "fp32" else nullcontext()
        )
        self._micro = 0

    def loss(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None = None) -> torch.Tensor:
        with self._autocast:
            return self._call(x, y, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluation forward, eager: its shapes (a short last batch) never recompile the training graph."""
        with self._autocast:
            return self._eager(x)

    def backward(self, loss: torch.Tensor) -> None:
        (loss / self.grad_accum if self.grad_accum > 1 else loss).backward()

    def step(self) -> bool:
        """Called after every micro-step; returns True when an optimizer step happened."""
        self._micro += 1
        if self._micro % self.grad_accum:
            return False
        if GRADIENT_CLIPPING > 0:
            torch.nn.utils.clip_grad_norm_(self.module.parameters(), GRADIENT_CLIPPING)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return True

    def train(self, mode: bool = True) -> None:
        self.module.train(mode)


def ensure_process_group(device: torch.device) -> None:
    """A one-rank process group where none exists: Ray Train sets none up for a single worker, and DeepSpeed
    would otherwise go looking for MPI (gloo on CPU, nccl on GPU)."""
    import socket

    if torch.distributed.is_initialized():
        return
    for name, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "1")):
        os.environ.setdefault(name, value)  # DeepSpeed's sanity check reads LOCAL_RANK
    with socket.socket() as s:  # a free local port for the one-rank rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = "nccl" if device.type == "cuda" else "gloo"
    torch.distributed.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)


class DeepSpeedEngine:
    """``deepspeed.initialize`` over the process group Ray Train set up (gloo on CPU, nccl on GPU), or a
    one-rank group of its own for a single worker."""

    def __init__(self, model: nn.Module, trainer: TrainerSpec, device: torch.device, world_size: int) -> None:
        import deepspeed

        ensure_process_group(device)
        n_parameters = sum(p.numel() for p in model.parameters())
        optimizer = make_optimizer(model, trainer, device)
        self.engine, *_ = deepspeed.initialize(
            model=WithLoss(model), optimizer=optimizer,
            config=deepspeed_config(trainer, world_size, n_parameters=n_parameters),
        )
        if trainer.compile:
            self.engine.compile()
        self.module = self.engine.module.model
        self.input_dtype = DTYPES[trainer.precision]  # DeepSpeed casts the parameters, not the inputs

    def _cast(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.input_dtype) if x.is_floating_point() else x

    def loss(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None = None) -> torch.Tensor:
        return self.engine(self._cast(x), y, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluation forward through DeepSpeed (ZeRO-3 gathers its parameters) with the compiled graph bypassed."""
        with torch.compiler.set_stance("force_eager"):
            return self.engine(self._cast(x))

    def backward(self, loss: torch.Tensor) -> None:
        self.engine.backward(loss)

    def step(self) -> bool:
        boundary = self.engine.is_gradient_accumulation_boundary()
        self.engine.step()
        return boundary

    def train(self, mode: bool = True) -> None:
        self.engine.train(mode)
