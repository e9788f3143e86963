"""The optimisation engine of a trial: plain PyTorch in one process, DeepSpeed across workers.

Both expose the same four calls so the training loop reads the same either way.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import torch
from torch import nn

from ..spec.models import TrainerSpec

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def make_optimizer(model: nn.Module, trainer: TrainerSpec) -> torch.optim.Optimizer:
    o = trainer.optimizer
    if o.name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
    return torch.optim.AdamW(model.parameters(), lr=o.lr, weight_decay=o.weight_decay)


def deepspeed_config(trainer: TrainerSpec, world_size: int) -> dict[str, Any]:
    ds = trainer.deepspeed
    zero: dict[str, Any] = {"stage": ds.zero_stage}
    if ds.zero_stage == 3:
        zero["stage3_param_persistence_threshold"] = 0  # partition small test models too (FACTS.md)
    return {
        "train_micro_batch_size_per_gpu": ds.micro_batch,
        "gradient_accumulation_steps": ds.grad_accum,
        "train_batch_size": ds.micro_batch * ds.grad_accum * world_size,
        "zero_optimization": zero,
        "bf16": {"enabled": ds.precision == "bf16"},
        "fp16": {"enabled": ds.precision == "fp16"},
        "zero_allow_untested_optimizer": True,
        "steps_per_print": 1 << 30,
        "wall_clock_breakdown": False,
    }


class PlainEngine:
    """Single-process training with autocast for bf16/fp16 and gradient accumulation."""

    def __init__(self, model: nn.Module, trainer: TrainerSpec, device: torch.device) -> None:
        self.module = model.to(device)
        self.optimizer = make_optimizer(model, trainer)
        self._forward = torch.compile(self.module) if trainer.deepspeed.compile else self.module
        self.grad_accum = trainer.deepspeed.grad_accum
        precision = trainer.deepspeed.precision
        self.input_dtype = torch.float32
        self._autocast = (
            torch.autocast(device.type, dtype=DTYPES[precision]) if precision != "fp32" else nullcontext()
        )
        self._micro = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with self._autocast:
            return self._forward(x)

    def backward(self, loss: torch.Tensor) -> None:
        (loss / self.grad_accum if self.grad_accum > 1 else loss).backward()

    def step(self) -> bool:
        """Called after every micro-step; returns True when an optimizer step happened."""
        self._micro += 1
        if self._micro % self.grad_accum:
            return False
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return True

    def train(self, mode: bool = True) -> None:
        self.module.train(mode)


class DeepSpeedEngine:
    """``deepspeed.initialize`` over the process group Ray Train set up (gloo on CPU, nccl on GPU)."""

    def __init__(self, model: nn.Module, trainer: TrainerSpec, device: torch.device, world_size: int) -> None:
        import deepspeed

        optimizer = make_optimizer(model, trainer)
        self.engine, *_ = deepspeed.initialize(
            model=model, optimizer=optimizer, config=deepspeed_config(trainer, world_size)
        )
        if trainer.deepspeed.compile:
            self.engine.compile()
        self.module = self.engine.module
        self.input_dtype = DTYPES[trainer.deepspeed.precision]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_floating_point():
            x = x.to(self.input_dtype)
        return self.engine(x)

    def backward(self, loss: torch.Tensor) -> None:
        self.engine.backward(loss)

    def step(self) -> bool:
        boundary = self.engine.is_gradient_accumulation_boundary()
        self.engine.step()
        return boundary

    def train(self, mode: bool = True) -> None:
        self.engine.train(mode)
