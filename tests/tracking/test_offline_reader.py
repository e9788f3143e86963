"""The offline reader against real wandb files: multi-block framing, damage and torn tails."""

import struct
import zlib

import pytest

from dl_drawbacks.errors import RunFolderError
from wandb_offline_reader import (
    FILE_HEADER, FRAGMENT_HEADER, find_offline_runs, iter_payloads, read_offline_run)
from dl_drawbacks.tracking.settings import TrackingSettings
from dl_drawbacks.tracking.trial_run import TrialRun

BLOCK_SIZE = 32768  # the LevelDB log block, written out here so a wrong module constant fails


@pytest.fixture(autouse=True)
def wandb_env(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    for var in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    for var in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_DIR", "WANDB_RUN_ID", "WANDB_RESUME"):
        monkeypatch.delenv(var, raising=False)


def write_run(run_dir, config, steps, width=1):
    run = TrialRun.start(TrackingSettings(mode="offline"), run_dir, run_id="r1", name="r1",
                         group="g", job_type="trial", config=config)
    assert run.active
    for step in range(steps):
        run.log({f"m{i:02d}": step + i / 100 for i in range(width)}, step=step)
    run.finish()
    (folder,) = find_offline_runs(run_dir / "wandb")
    return folder


def fragment_types(data):
    """Types of the fragments, walked with the block rule, to prove a test spans blocks."""
    pos, kinds = FILE_HEADER.size, []
    while len(data) - pos >= FRAGMENT_HEADER.size:
        if BLOCK_SIZE - pos % BLOCK_SIZE < FRAGMENT_HEADER.size:
            pos += BLOCK_SIZE - pos % BLOCK_SIZE
            continue
        _, length, kind = FRAGMENT_HEADER.unpack_from(data, pos)
        kinds.append(kind)
        pos += FRAGMENT_HEADER.size + length
    return kinds


def test_records_that_span_blocks_are_reassembled(tmp_path):
    big = "x" * (3 * BLOCK_SIZE)  # one run record over three blocks: FIRST, MIDDLE.., LAST
    folder = write_run(tmp_path / "run", {"big": big, "lr": 0.1}, steps=400, width=20)
    got = read_offline_run(folder)
    data = next(folder.glob("run-*.wandb")).read_bytes()
    assert len(data) > 4 * BLOCK_SIZE and {2, 3, 4} <= set(fragment_types(data))
    assert got["config"] == {"big": big, "lr": 0.1}
    assert [row["_step"] for row in got["history"]] == list(range(400))
    assert got["history"][399] == {"_step": 399, **{f"m{i:02d}": 399 + i / 100 for i in range(20)}}


def leveldb_log(payloads):
    """A .wandb byte string framed by the LevelDB log spec (zero trailer under 7 bytes)."""
    out = bytearray(FILE_HEADER.pack(b":W&B", 0xBEE1, 0))
    for payload in payloads:
        first = True
        while True:
            left = BLOCK_SIZE - len(out) % BLOCK_SIZE
            if left < FRAGMENT_HEADER.size:
                out += bytes(left)
                continue
            chunk, payload = payload[:left - FRAGMENT_HEADER.size], payload[left - FRAGMENT_HEADER.size:]
            kind = (1 if first else 4) if not payload else (2 if first else 3)
            out += FRAGMENT_HEADER.pack(zlib.crc32(chunk, zlib.crc32(bytes([kind]))), len(chunk), kind)
            out += chunk
            first = False
            if not payload:
                break
    return bytes(out)


@pytest.mark.parametrize("tail", [0, 3, 6, 7])
def test_block_trailers_and_empty_first_fragments_are_skipped(tail):
    # the first payload leaves `tail` bytes in block 0: 1-6 are a zero trailer, 7 an empty FIRST
    first = b"a" * (BLOCK_SIZE - FILE_HEADER.size - FRAGMENT_HEADER.size - tail)
    payloads = [first, b"b" * 100, b"c" * (2 * BLOCK_SIZE)]
    assert list(iter_payloads(leveldb_log(payloads))) == payloads


def test_a_damaged_byte_is_a_checksum_error(tmp_path):
    folder = write_run(tmp_path / "run", {"lr": 0.1}, steps=3)
    path = next(folder.glob("run-*.wandb"))
    read_offline_run(folder)  # waits for the writer to finish the file
    data = bytearray(path.read_bytes())
    data[FILE_HEADER.size + FRAGMENT_HEADER.size + 3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RunFolderError, match="checksum mismatch"):
        read_offline_run(folder)


def test_a_wrong_header_is_refused(tmp_path):
    with pytest.raises(RunFolderError, match="not a W&B run file"):
        list(iter_payloads(struct.pack("<4sHB", b"LDB!", 0xBEE1, 0) + b"\0" * 20))


def test_a_torn_tail_keeps_what_was_complete(tmp_path):
    folder = write_run(tmp_path / "run", {"lr": 0.1}, steps=3)
    path = next(folder.glob("run-*.wandb"))
    read_offline_run(folder)  # waits for the writer to finish the file
    path.write_bytes(path.read_bytes()[:-5])
    got = read_offline_run(folder, wait_s=0)
    assert got["config"] == {"lr": 0.1} and len(got["history"]) == 3


def test_a_folder_without_a_run_file_is_an_error(tmp_path):
    with pytest.raises(RunFolderError, match="expected one run-<id>.wandb file, found 0"):
        read_offline_run(tmp_path)
    assert find_offline_runs(tmp_path) == []
