"""DeepSpeed's JIT-built CPU ops: one torch extensions folder per environment, built under a lock that dies with
its holder.

torch's ``cpp_extension`` guards a build with a ``<op>/lock`` file (``FileBaton``) that a killed build leaves
behind; every later load then waits on it forever (pytorch/pytorch#189245, seen here when a test run was killed
mid-build; torch 2.13 still has it, the upstream fix pytorch/pytorch#190543 replaces the baton with an OS lock).
The workaround (sglang's for its own extensions): our processes build under an ``fcntl`` lock the kernel releases
when its holder dies, so a baton found while holding it was left by a dead build and is removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

BUILD_LOCK = "dl_drawbacks-build.flock"


def keep_torch_extensions_per_environment() -> Path:
    """DeepSpeed JIT-compiles its CPU ops (the shared-memory comm op: 1-2.5 min) into torch's extensions cache,
    which two environments sharing ``~/.cache/torch_extensions/py311_cpu`` rebuild alternately (different
    include paths, FACTS.md); unless the user chose a folder, each environment (``sys.prefix``) gets its own."""
    tag = f"py{sys.version_info.major}{sys.version_info.minor}-{hashlib.sha256(sys.prefix.encode()).hexdigest()[:8]}"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(cache / "torch_extensions" / tag))
    return Path(os.environ["TORCH_EXTENSIONS_DIR"])


@contextlib.contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """Held while this process builds or loads an op in ``folder``; released by the kernel if the process dies."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / BUILD_LOCK, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def clear_dead_batons(folder: Path) -> list[Path]:
    """Call under ``build_lock``: torch's ``<op>/lock`` batons there were left by a build that died (a live build
    of ours would hold the lock); each removed one is named in a warning."""
    dead = sorted(folder.glob("*/lock"))
    for baton in dead:
        baton.unlink(missing_ok=True)
        warnings.warn(f"removed {baton}: a torch extension build lock left by a killed build", stacklevel=2)
    return dead


def build_deepspeed_ops() -> None:
    """Build (or load the built) DeepSpeed CPU shared-memory comm op before ``deepspeed.initialize`` does, one
    process of the node at a time, so a killed build never leaves the next trial waiting forever."""
    folder = keep_torch_extensions_per_environment()
    with build_lock(folder):
        clear_dead_batons(folder)
        from deepspeed.comm.torch import build_shm_op

        build_shm_op()
