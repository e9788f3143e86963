"""Read what a W&B run wrote to its ``run-<id>.wandb`` file, without network or API.

wandb has no public reader for this file, so tests (and anyone checking what was mirrored) use
this one. The layout, checked against files written by wandb 0.31:

* a 7-byte header: ident ``b":W&B"``, magic ``0xBEE1`` (uint16 LE), version ``0`` (uint8);
* LevelDB-log framing (github.com/google/leveldb/blob/main/doc/log_format.md): 32 KiB blocks,
  counted from the start of the file, header included; each fragment has a 7-byte header
  ``checksum(uint32 LE) length(uint16 LE) type(uint8)`` with type FULL=1, FIRST=2, MIDDLE=3,
  LAST=4; a block tail shorter than 7 bytes is zero padding. wandb's checksum is zlib's CRC-32 of
  the type byte then the data (not LevelDB's masked CRC-32C);
* each reassembled payload is a serialized ``wandb.proto.wandb_internal_pb2.Record``.

Values arrive JSON-encoded (``value_json``) under ``key`` or a ``nested_key`` path. wandb's own
bookkeeping (``_wandb``, ``_runtime``, ``_timestamp``) is left out of what is returned.
"""

from __future__ import annotations

import json
import struct
import time
import zlib
from pathlib import Path
from typing import Any, Iterator

from dl_drawbacks.errors import RunFolderError

FILE_HEADER = struct.Struct("<4sHB")
FILE_IDENT, FILE_MAGIC, FILE_VERSION = b":W&B", 0xBEE1, 0
FRAGMENT_HEADER = struct.Struct("<IHB")
BLOCK_SIZE = 32 * 1024
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
INTERNAL_KEYS = frozenset({"_wandb", "_runtime", "_timestamp"})


def find_offline_runs(wandb_dir: Path) -> list[Path]:
    """The run folders (``offline-run-*``, ``run-*``) under a ``wandb/`` folder, oldest first.

    A resumed run writes a new folder with the same id each time it restarts.
    """
    folders = [p for p in Path(wandb_dir).glob("*run-*") if p.is_dir() and any(p.glob("run-*.wandb"))]
    return sorted(folders, key=lambda p: p.name.split("run-", 1)[1])  # <timestamp>-<id>


def read_offline_run(run_folder: Path, *, wait_s: float = 2.0) -> dict:
    """Config, history rows, summary, artifacts, id, group, job type and exit code of one run folder.

    wandb 0.31 returns from ``finish()`` a moment before its writer has flushed the file, so this
    waits up to ``wait_s`` seconds for the exit record; a crashed run is read as far as it goes.
    """
    files = sorted(Path(run_folder).glob("run-*.wandb"))
    if len(files) != 1:
        raise RunFolderError(f"{run_folder}: expected one run-<id>.wandb file, found {len(files)}")
    deadline = time.monotonic() + wait_s
    records = list(iter_records(files[0]))
    while not any(r.HasField("exit") for r in records) and time.monotonic() < deadline:
        time.sleep(0.01)
        records = list(iter_records(files[0]))
    out: dict[str, Any] = {"config": {}, "history": [], "summary": {}, "run_id": "", "group": "",
                           "job_type": "", "name": "", "project": "", "tags": [], "artifacts": [], "exit_code": None}
    for record in records:
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
            out.update(run_id=run.run_id, group=run.run_group, job_type=run.job_type,
                       name=run.display_name, project=run.project, tags=list(run.tags))
            _apply(out["config"], run.config.update, run.config.remove)
        elif kind == "config":
            _apply(out["config"], record.config.update, record.config.remove)
        elif kind == "history":
            row: dict[str, Any] = {}
            _apply(row, record.history.item, ())
            out["history"].append(row)
        elif kind == "summary":
            _apply(out["summary"], record.summary.update, record.summary.remove)
        elif kind == "artifact":
            art = record.artifact
            out["artifacts"].append({"name": art.name, "type": art.type,
                                     "files": sorted(entry.path for entry in art.manifest.contents)})
        elif kind == "exit":
            out["exit_code"] = record.exit.exit_code
    return out


def logged_keys(run: dict) -> dict[str, set[str]]:
    """The keys a read run holds, by section: ``history`` (any row), ``summary``, ``config`` (top level)."""
    return {"history": {k for row in run["history"] for k in row}, "summary": set(run["summary"]),
            "config": set(run["config"])}


def iter_records(path: Path) -> Iterator[Any]:
    """Every ``Record`` in a ``.wandb`` file, in order; a torn last fragment ends the file."""
    from wandb.proto import wandb_internal_pb2

    for payload in iter_payloads(Path(path).read_bytes(), str(path)):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        yield record


def iter_payloads(data: bytes, name: str = "<bytes>") -> Iterator[bytes]:
    """The reassembled record payloads of a ``.wandb`` byte string (header checked, CRCs verified)."""
    if len(data) < FILE_HEADER.size or FILE_HEADER.unpack_from(data) != (FILE_IDENT, FILE_MAGIC, FILE_VERSION):
        raise RunFolderError(f"{name}: not a W&B run file (header {data[:FILE_HEADER.size]!r})")
    pos, parts = FILE_HEADER.size, []
    while len(data) - pos >= FRAGMENT_HEADER.size:
        left_in_block = BLOCK_SIZE - pos % BLOCK_SIZE
        if left_in_block < FRAGMENT_HEADER.size:
            pos += left_in_block
            continue
        checksum, length, kind = FRAGMENT_HEADER.unpack_from(data, pos)
        if kind == 0 and length == 0:  # zero-filled (preallocated) rest of a block
            pos += left_in_block
            continue
        start = pos + FRAGMENT_HEADER.size
        fragment = data[start:start + length]
        if len(fragment) < length:  # the writer stopped mid-fragment (crash, run still open)
            return
        if zlib.crc32(fragment, zlib.crc32(bytes([kind]))) != checksum:
            raise RunFolderError(f"{name}: corrupt record at byte {pos} (checksum mismatch)")
        pos = start + length
        if kind == FULL:
            yield fragment
        elif kind == FIRST:
            parts = [fragment]
        elif kind in (MIDDLE, LAST):
            if not parts:
                raise RunFolderError(f"{name}: record fragment without a start at byte {pos}")
            parts.append(fragment)
            if kind == LAST:
                yield b"".join(parts)
                parts = []
        else:
            raise RunFolderError(f"{name}: unknown fragment type {kind} at byte {pos}")


def _apply(target: dict, updates: Any, removes: Any) -> None:
    """Apply ``update`` items (set, JSON-decoded) and ``remove`` items to a nested dict."""
    for item in updates:
        path = list(item.nested_key) or [item.key]
        if path[0] in INTERNAL_KEYS:
            continue
        node = target
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = json.loads(item.value_json)
    for item in removes:
        path = list(item.nested_key) or [item.key]
        node = target
        for key in path[:-1]:
            node = node.get(key, {})
        node.pop(path[-1], None)
