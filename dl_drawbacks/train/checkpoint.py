"""Checkpoints of multi-worker trials, so Ray Train's failure handling can restart a killed worker
group from the last checkpoint and finish with the same result as an uninterrupted run.

Every ``execution.checkpoint_every`` steps each rank writes, into its own temporary folder, DeepSpeed's
checkpoint (ZeRO-partitioned optimizer/model state: rank-specific file names), its RNG state and its
rows so far, and reports it with ``ray.train.report``; Ray Train merges the ranks' folders into one
checkpoint in the run's storage. On a restart ``ray.train.get_checkpoint()`` hands it back and training
resumes at the next step with the same batches (the batch order is a function of seed and epoch). The RNG
state saved is torch's CPU generator, every visible CUDA device's generator, numpy's global and Python's
``random`` (dropout, sampling and any library that draws from them), so a restart on GPUs continues the
same random streams as an uninterrupted run. Ray Train keeps the last ``KEEP_CHECKPOINTS`` (trial.py's
``CheckpointConfig``): the newest may be mid-upload when a worker dies, the one before is whole.

Fault injection (tests only):
``DL_DRAWBACKS_FAULT_INJECTION='{"kill_at_step": 5, "rank": 1, "marker": PATH, "delay_s": 3}'``
in the driver's environment kills that rank's process with SIGKILL once (the marker file records it).
"""

from __future__ import annotations

import json
import os
import pickle
import random
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .context import TrialContext

FAULT_ENV = "DL_DRAWBACKS_FAULT_INJECTION"
KEEP_CHECKPOINTS = 2


def rng_state() -> dict[str, Any]:
    """Every generator a training step may draw from, in a picklable dict."""
    state = {"rng": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what ``rng_state`` saved (a checkpoint from before CUDA/numpy were saved restores torch's only)."""
    torch.set_rng_state(state["rng"])
    if "numpy" in state:
        np.random.set_state(state["numpy"])
    if "python" in state:
        random.setstate(state["python"])
    if "cuda" in state:
        if not torch.cuda.is_available() or torch.cuda.device_count() != len(state["cuda"]):
            raise RuntimeError(f"the checkpoint holds the RNG state of {len(state['cuda'])} CUDA device(s), this "
                               f"worker sees {torch.cuda.device_count() if torch.cuda.is_available() else 0}")
        torch.cuda.set_rng_state_all(state["cuda"])


def fault_from_env() -> list[dict[str, Any]] | None:
    """The planted faults of the fault-tolerance tests: one JSON object, or a list of them (several faults, each
    with its own ``trials``, in one run)."""
    raw = os.environ.get(FAULT_ENV)
    if not raw:
        return None
    faults = json.loads(raw)
    return faults if isinstance(faults, list) else [faults]


class Checkpointer:
    def __init__(self, ctx: TrialContext, *, every: int, fault: list[dict[str, Any]] | None = None) -> None:
        self.ctx, self.every, self.faults = ctx, every, fault or []

    @property
    def active(self) -> bool:
        return self.every > 0 and self.ctx.world_size > 1

    def restore(self) -> int:
        """Load the last checkpoint if Ray Train handed one back; returns the step to resume after."""
        import ray.train

        checkpoint = ray.train.get_checkpoint() if self.active else None
        if checkpoint is None:
            return 0
        with checkpoint.as_directory() as folder:
            folder = Path(folder)
            _, client = self.ctx.engine.engine.load_checkpoint(str(folder), tag="latest_step")
            state = pickle.loads((folder / f"rank{self.ctx.rank}.pkl").read_bytes())
        set_rng_state(state)
        self.ctx.rows.replace_records(state["rows"])
        self.ctx.rows.add("restarts", state["restarts"] + 1, "count", step=client["step"])
        self.restarts = state["restarts"] + 1
        return int(client["step"])

    def after_step(self, step: int, n_steps: int) -> None:
        if self.active and step % self.every == 0 and step < n_steps:
            self._save(step)
        for fault in self.faults:
            self._inject(fault, step)

    def _inject(self, fault: dict[str, Any], step: int) -> None:
        """Test-only faults: raise an error in chosen trials (``raise_at_step``, ``error``, ``trials``) or
        SIGKILL one rank once (``kill_at_step``, ``rank``, ``marker``)."""
        chosen = not fault.get("trials") or self.ctx.trial.trial_id in fault["trials"]
        if chosen and fault.get("raise_at_step") == step:
            errors = {"MemoryError": MemoryError, "FileNotFoundError": FileNotFoundError}
            error = errors.get(fault.get("error"), RuntimeError)
            raise error(fault.get("message", f"injected fault at step {step}"))
        targeted = fault.get("rank", 0) == self.ctx.rank and step == fault.get("kill_at_step")
        if chosen and "kill_at_step" in fault and targeted:
            marker = Path(fault["marker"])
            if not marker.exists():
                # Ray Train's controller takes a checkpoint report in on its next poll; a kill within
                # milliseconds of a report can beat it (the restart then begins from the one before).
                time.sleep(fault.get("delay_s", 0.0))
                marker.write_text(f"killed rank {self.ctx.rank} at step {step}\n")
                os.kill(os.getpid(), signal.SIGKILL)

    def _save(self, step: int) -> None:
        import ray.train
        from ray.train import Checkpoint

        with tempfile.TemporaryDirectory(prefix="dl-drawbacks-ckpt-") as folder:
            self.ctx.engine.engine.save_checkpoint(folder, tag="latest_step", client_state={"step": step})
            state = {**rng_state(), "rows": self.ctx.rows.to_records(), "restarts": getattr(self, "restarts", 0)}
            (Path(folder) / f"rank{self.ctx.rank}.pkl").write_bytes(pickle.dumps(state))
            ray.train.report({"step": step}, checkpoint=Checkpoint.from_directory(folder))
