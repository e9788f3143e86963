"""The W&B key of every logged row: stable across machines, clusters and numbers of workers.

A key is ``<metric>[/<split>][/<group>]`` (empty parts dropped), with these rules so that runs
from different hosts, pods and worker counts share columns:

* a row whose group names a device or host (``gpu:0:NVIDIA H200``, ``node:<host>``,
  ``process:<host>:<pid>``, ``cpu:<threads>``: energy, power, device time, per-window energy) gets one
  key per device class and a total, each summed over ranks and devices: ``energy/gpu``,
  ``energy/cpu`` (a node or process meter measures the CPU package, or estimates it),
  ``energy/total``, ``energy_steady/gpu``, ``idle_power/total``, ``device_seconds/cpu``.
  Device and host names go to the run's config (``devices``).
* ``flops_per_sample`` by how it was obtained: ``flops_per_sample/analytic``, ``flops_per_sample/counted``.
* throughput: ``throughput/samples_per_s``, ``throughput/tokens_per_s``.
* ``peak_memory`` and ``peak_memory_increase``: the largest over ranks (a per-worker peak).
* every other scalar: rank 0's value (the chief records the trial-wide figures); a key with several
  rows on one rank (per-sample values, e.g. ``epoch`` = sample index) is an array, not a summary
  value, and stays in the parquet rows.
* history (per training step): step-indexed rows without a group (``loss/train``, ``accuracy/val``,
  ``step_time/train``); step-indexed rows with a group are curves over something else (deletion
  steps, attribution features) and stay in the parquet rows and the findings tables.
* rows whose group names a node (``worker`` placement rows) are config, never keys.
* per-sample rows (group ``sample:<i>``, ``<model>/sample:<i>`` or packed ``chunk:<k>``: test-sample outcomes the
  studies resample for their intervals) are arrays, never keys.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

MAX_OVER_RANKS = frozenset({"peak_memory", "peak_memory_increase"})
RENAMED = {"samples_per_second": "throughput/samples_per_s", "tokens_per_second": "throughput/tokens_per_s"}
FLOP_SOURCES = {"analytic": "analytic", "flop_counter": "counted"}
DEVICE_CLASSES = {"gpu": "gpu", "node": "cpu", "process": "cpu", "cpu": "cpu"}
PLACEMENT_METRICS = frozenset({"worker"})


def is_per_sample(group: str) -> bool:
    """A row of per-sample outcomes (one test sample, or a packed chunk of them)."""
    return group.startswith("chunk:") or group.startswith("sample:") or "/sample:" in group


def device_class(group: str) -> str | None:
    """``gpu`` or ``cpu`` when ``group`` names a device or host (``gpu:0:NVIDIA H200``, ``node:<host>``), else None."""
    head, sep, _ = group.partition(":")
    return DEVICE_CLASSES.get(head) if sep or group in ("gpu", "cpu") else None


def is_device_row(metric: str, group: str) -> bool:
    """A per-device measurement (summed over ranks and devices), not a placement record."""
    return metric not in PLACEMENT_METRICS and device_class(group) is not None


def metric_key(metric: str, split: str = "", group: str = "", provenance: str = "") -> str:
    """The W&B key of one row (the rules in the module docstring)."""
    if device_class(group) is not None:
        return f"{metric}/{device_class(group)}"
    if metric == "flops_per_sample":
        return f"flops_per_sample/{FLOP_SOURCES.get(provenance.split(':', 1)[0], 'other')}"
    if metric in RENAMED:
        return RENAMED[metric]
    return "/".join(part for part in (metric, split, group) if part)


def _plain(value: float) -> float | None:
    return value if math.isfinite(value) else None


def history(rows: pl.DataFrame) -> dict[int, dict[str, float | None]]:
    """``{step: {key: value}}`` of the chief's per-step rows without a group."""
    curve = rows.filter(pl.col("step").is_not_null() & (pl.col("group") == "") & (pl.col("rank") == 0))
    out: dict[int, dict[str, float | None]] = {}
    for metric, split, step, value in curve.select("metric", "split", "step", "value").iter_rows():
        out.setdefault(int(step), {})[metric_key(metric, split)] = _plain(value)
    return out


def summary(rows: pl.DataFrame) -> dict[str, float | None]:
    """One value per key of the scalar rows: sums for energy/power/device time, max for peaks, else rank 0."""
    scalars = rows.filter(pl.col("step").is_null() & ~pl.col("metric").is_in(list(PLACEMENT_METRICS)))
    out: dict[str, float | None] = {}
    sums: dict[str, float] = {}
    seen: dict[tuple[str, int], int] = {}
    records = list(scalars.sort("rank").select("metric", "split", "group", "provenance", "rank", "value").iter_rows())
    for metric, split, group, prov, rank, _ in records:
        key = (metric_key(metric, split, group, prov), rank)
        seen[key] = seen.get(key, 0) + 1
    arrays = {key for (key, _), n in seen.items() if n > 1}
    for metric, split, group, prov, rank, value in records:
        key = metric_key(metric, split, group, prov)
        if is_per_sample(group) or (key in arrays and not is_device_row(metric, group)):
            continue
        if is_device_row(metric, group):
            if math.isfinite(value):
                sums[key] = sums.get(key, 0.0) + value
                sums[f"{metric}/total"] = sums.get(f"{metric}/total", 0.0) + value
        elif metric in MAX_OVER_RANKS:
            if math.isfinite(value) and (out.get(key) is None or value > out[key]):
                out[key] = value
            out.setdefault(key, None)
        elif key not in out:  # sorted by rank: the chief's value, or the lowest rank that has one
            out[key] = _plain(value)
    return {**out, **sums}


def placement(rows: pl.DataFrame) -> dict[str, Any]:
    """Where the trial ran (config, not keys): devices metered, nodes and ranks."""
    devices = sorted({g for m, g in rows.select("metric", "group").unique().iter_rows() if is_device_row(m, g)
                      and ":" in g and g.partition(":")[0] in ("gpu", "node", "process")})
    nodes = sorted(set(rows.filter(pl.col("metric").is_in(list(PLACEMENT_METRICS)))["group"]))
    ranks = rows["rank"].n_unique() if rows.height else 0
    return {"devices": devices, "nodes": [n.removeprefix("node:") for n in nodes], "ranks": ranks}
