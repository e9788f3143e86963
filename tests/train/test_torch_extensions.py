"""DeepSpeed's JIT-compiled ops: cached per environment, and built under a lock a killed build cannot leave
behind (torch's own baton can: pytorch/pytorch#189245)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from dl_drawbacks.train.torch_extensions import build_lock, clear_dead_batons, keep_torch_extensions_per_environment


def test_each_environment_gets_its_own_extensions_folder_unless_one_was_chosen(tmp_path, monkeypatch):
    monkeypatch.delenv("TORCH_EXTENSIONS_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    keep_torch_extensions_per_environment()
    mine = os.environ["TORCH_EXTENSIONS_DIR"]
    assert mine.startswith(str(tmp_path / "torch_extensions" / f"py{sys.version_info.major}{sys.version_info.minor}-"))
    monkeypatch.delenv("TORCH_EXTENSIONS_DIR")
    monkeypatch.setattr(sys, "prefix", "/another/venv")
    keep_torch_extensions_per_environment()
    assert os.environ["TORCH_EXTENSIONS_DIR"] not in (mine, "")
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", "/chosen")
    keep_torch_extensions_per_environment()
    assert os.environ["TORCH_EXTENSIONS_DIR"] == "/chosen"


_HOLDER = """
import sys, time
from pathlib import Path
from dl_drawbacks.train.torch_extensions import build_lock
with build_lock(Path(sys.argv[1])):
    (Path(sys.argv[1]) / "deepspeed_shm_comm").mkdir(exist_ok=True)
    (Path(sys.argv[1]) / "deepspeed_shm_comm" / "lock").touch()  # torch's baton, as a build in progress has it
    print("holding", flush=True)
    time.sleep(600)
"""


def test_a_build_killed_mid_way_leaves_no_lock_that_blocks_the_next(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        probe = [sys.executable, "-c", "import fcntl,sys; f=open(sys.argv[1],'a+'); fcntl.flock(f, fcntl.LOCK_EX|fcntl.LOCK_NB)",
                 str(tmp_path / "dl_drawbacks-build.flock")]
        assert subprocess.run(probe, capture_output=True).returncode != 0  # a live build holds it
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        holder.kill()
    start = time.monotonic()
    with build_lock(tmp_path), pytest.warns(UserWarning, match="killed build"):
        dead = clear_dead_batons(tmp_path)
    assert time.monotonic() - start < 10
    assert dead == [tmp_path / "deepspeed_shm_comm" / "lock"] and not dead[0].exists()


def test_no_baton_no_warning(tmp_path):
    (tmp_path / "op").mkdir()
    with build_lock(tmp_path):
        assert clear_dead_batons(tmp_path) == []
