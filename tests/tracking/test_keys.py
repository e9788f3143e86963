"""The W&B key scheme: totals over ranks and devices, no host or device names in keys."""

from __future__ import annotations

import polars as pl

from dl_drawbacks.rows import ROW_SCHEMA, RowBuffer
from dl_drawbacks.tracking import keys


def _two_rank_rows() -> pl.DataFrame:
    frames = []
    for rank in (0, 1):
        r = RowBuffer("compute", "g", "t1", 0, {"sweep": "s"}, rank=rank)
        r.add("energy", 10.0 + rank, "J", group=f"gpu:{rank}:NVIDIA H200", provenance="nvml")
        r.add("power", 100.0, "W", group=f"gpu:{rank}:NVIDIA H200", provenance="nvml")
        r.add("energy_steady", 4.0, "J", group=f"gpu:{rank}:NVIDIA H200", provenance="nvml")
        r.add("device_seconds", 2.0, "s", group="gpu")
        r.add("peak_memory", 100.0 * (rank + 1), "bytes")
        r.add("worker", rank, "local_rank", group="node:abc123", provenance="ray")
        if rank == 0:
            r.add("energy", 50.0, "J", group="node:my-host", provenance="rapl")
            r.add("flops_per_sample", 7.0, "FLOP", provenance="analytic")
            r.add("flops_per_sample", 6.5, "FLOP", provenance="flop_counter:meta")
            r.add("samples_per_second", 1000.0, "samples/s", provenance="measured:steady_state")
            r.add("tokens_per_second", 9000.0, "tokens/s", provenance="measured:steady_state")
            r.add("accuracy", 0.9, "fraction", split="test")
            r.add("disparate_impact", float("nan"), "ratio", split="test", provenance="undefined:no members")
            r.add("group_accuracy", 0.8, "fraction", split="test", group="sex=1")
            for step in (1, 2):
                r.add("loss", 1.0 / step, "nats", split="train", step=step, epoch=0)
                r.add("step_time", 0.1, "s", split="train", step=step)
            r.add("deletion_curve", 0.4, "probability", split="test_explain", group="ig", step=3)
        frames.append(r.frame())
    return pl.concat(frames)


def test_totals_are_summed_over_ranks_and_devices_and_keys_name_no_device():
    s = keys.summary(_two_rank_rows())
    assert s["energy/gpu"] == 21.0 and s["energy/cpu"] == 50.0 and s["energy/total"] == 71.0
    assert s["power/gpu"] == 200.0 and s["energy_steady/total"] == 8.0 and s["device_seconds/gpu"] == 4.0
    assert s["peak_memory"] == 200.0  # the largest per-worker peak, not rank 0's
    assert s["flops_per_sample/analytic"] == 7.0 and s["flops_per_sample/counted"] == 6.5
    assert s["throughput/samples_per_s"] == 1000.0 and s["throughput/tokens_per_s"] == 9000.0
    assert s["accuracy/test"] == 0.9 and s["group_accuracy/test/sex=1"] == 0.8
    assert s["disparate_impact/test"] is None  # NaN is null, never a number
    assert not any(word in k for k in s for word in ("host", "H200", "node", "abc123", "worker", "gpu:"))


def test_history_holds_training_steps_only():
    h = keys.history(_two_rank_rows())
    assert sorted(h) == [1, 2] and h[2] == {"loss/train": 0.5, "step_time/train": 0.1}


def test_placement_names_devices_and_nodes_in_config():
    p = keys.placement(_two_rank_rows())
    assert p == {"devices": ["gpu:0:NVIDIA H200", "gpu:1:NVIDIA H200", "node:my-host"], "nodes": ["abc123"], "ranks": 2}


def test_empty_rows_give_empty_keys():
    empty = pl.DataFrame(schema=ROW_SCHEMA)
    assert keys.summary(empty) == {} and keys.history(empty) == {} and keys.placement(empty)["ranks"] == 0
    assert keys.metric_key("energy", group="process:h:12") == "energy/cpu"


def test_per_sample_arrays_are_not_summary_values():
    r = RowBuffer("interpretability", "g", "t1", 0, {})
    for sample in range(3):
        r.add("attribution_error", 0.1 * sample, "error", split="test_explain", group="ig", epoch=sample)
    r.add("deletion_auc", 0.3, "probability", split="test_explain", group="ig")
    assert keys.summary(r.frame()) == {"deletion_auc/test_explain/ig": 0.3}


def test_per_sample_rows_are_never_summary_keys():
    import polars as pl

    from dl_drawbacks.tracking.keys import summary

    rows = pl.DataFrame({"metric": ["test_samples", "test_correct", "accuracy"], "split": ["test"] * 3,
                         "group": ["chunk:0", "model/sample:3", ""], "provenance": [""] * 3, "rank": [0] * 3,
                         "value": [1.0, 1.0, 0.9], "step": [None, None, None]},
                        schema_overrides={"step": pl.Int64})
    assert summary(rows) == {"accuracy/test": 0.9}
