"""token_shards: nanoGPT-style train.bin/val.bin, read window by window (memory map or range requests).

Fast: the index holds sizes only; windows and shifted targets are right by memory map and by range requests
on the local moto bucket; reading windows of a 32 MB file leaves the reader's anonymous memory (RssAnon)
almost unchanged; bad input (a size that is not a multiple of the dtype, a missing val.bin, ids beyond the
vocabulary) is one line, exit 2, before any trial. A GPT trial on the shards, and its worker's anonymous memory
on a 100 MB train.bin, run in ``benchmarks/streaming_memory.py tokens`` and the slow test below.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from anon_memory import rss_anon_bytes
from dl_drawbacks.cli import main
from dl_drawbacks.data import clear_cache, load_dataset
from dl_drawbacks.data.token_shards import TokenWindows

ROOT = Path(__file__).resolve().parents[2]
SPEC = """\
name: tokens
version: 1
tracking: {{mode: disabled}}
studies:
  - kind: compute
    data: {{name: token_shards, options: {{path: "{path}", vocab_size: {vocab}, seq_len: 16}}}}
    model: {{family: gpt, size: nano}}
    trainer:
      micro_batch: 8
      budget: {{steps: 4, eval_every: 4, warmup_steps: 1}}
"""


def write_shards(folder: Path, n_train: int, n_val: int, *, vocab: int = 97, dtype=np.uint16) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (np.arange(n_train) % vocab).astype(dtype).tofile(folder / "train.bin")
    (np.arange(n_val) % vocab).astype(dtype).tofile(folder / "val.bin")
    return folder


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def test_index_counts_windows_from_file_sizes(tmp_path):
    ds = load_dataset("token_shards", {"path": str(write_shards(tmp_path, 1001, 161)), "vocab_size": 97,
                                       "seq_len": 10, "test_windows": 5})
    assert (len(ds.train_labels), ds.n_test, ds.modality, ds.n_classes, ds.seq_len) == (100, 5, "tokens", 97, 10)


def test_windows_by_memory_map_and_by_range_requests_agree(tmp_path, s3):
    import pyarrow.fs as pafs

    local = write_shards(tmp_path, 5000, 500)
    fs, root = pafs.FileSystem.from_uri(s3.uri("shards"))
    for name in ("train.bin", "val.bin"):
        with fs.open_output_stream(f"{root}/{name}") as out:
            out.write((local / name).read_bytes())
    windows = {"data": np.array([0, 7, 311])}
    by_map = TokenWindows(str(local), "train.bin", "uint16", 16)(windows)
    by_range = TokenWindows(s3.uri("shards"), "train.bin", "uint16", 16)(windows)
    expected = (np.arange(311 * 16, 312 * 16 + 1) % 97)
    assert np.array_equal(by_map["x"][2], expected[:-1]) and np.array_equal(by_map["y"][2], expected[1:])
    assert all(np.array_equal(by_map[k], by_range[k]) for k in ("x", "y"))
    assert by_map["x"].dtype == np.int64


def test_reading_windows_does_not_copy_the_file_into_memory(tmp_path):
    folder = write_shards(tmp_path, 16 * 2**20, 1000)  # 32 MB of uint16
    reader = TokenWindows(str(folder), "train.bin", "uint16", 64)
    reader({"data": np.arange(4)})  # warm up numpy's and the reader's own allocations
    before = rss_anon_bytes()
    for start in range(0, 200_000, 20_000):
        reader({"data": np.arange(start, start + 64)})
    assert rss_anon_bytes() - before < 4 * 2**20


@pytest.mark.parametrize("case", ["odd_size", "no_val", "vocab"])
def test_bad_shards_are_one_line_exit_2_before_any_trial(case, tmp_path, capsys):
    folder = write_shards(tmp_path / "shards", 1000, 200)
    vocab = 97
    if case == "odd_size":
        (folder / "train.bin").write_bytes((folder / "train.bin").read_bytes() + b"\x01")
        expected = "train.bin is 2001 bytes, not a multiple of 2 (uint16); set data.options.dtype"
    elif case == "no_val":
        (folder / "val.bin").unlink()
        expected = "val.bin does not exist"
    else:
        vocab = 10
        expected = "holds token id 16 but vocab_size is 10"
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(path=folder, vocab=vocab))
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: token_shards: ") and expected in err and "\n" not in err
    assert not (tmp_path / "out" / "trials").exists()


@pytest.mark.slow
def test_a_gpt_trial_on_100_mb_of_shards_keeps_its_anonymous_memory(tmp_path):
    """benchmarks/streaming_memory.py tokens: the trial process's RssAnon peak with a 100 MB train.bin minus
    that with a 1 MB one (same GPT, same steps) stays under 50 MB."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "streaming_memory.py"), "tokens",
                           "--dir", str(tmp_path)], capture_output=True, text=True, timeout=1200,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    growth = [line for line in done.stdout.splitlines() if line.startswith("difference")]
    assert growth and float(growth[0].split()[1]) < 50, done.stdout
