"""DeepSpeed's JIT-compiled ops are cached per environment, so two environments never rebuild each other's."""

from __future__ import annotations

import os
import sys

from dl_drawbacks.train.worker import keep_torch_extensions_per_environment


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
