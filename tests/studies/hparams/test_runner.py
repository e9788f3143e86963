"""The driver gives each data set's search its own scheduler; the worker needs no process-global state;
a stopped trial's energy comes from the same meters over the training window."""

from __future__ import annotations

import time
from types import SimpleNamespace

import polars as pl
import torch

from dl_drawbacks.plan import plan_suite
from dl_drawbacks.rows import RowBuffer
from dl_drawbacks.spec.load import parse_spec
from dl_drawbacks.storage.run_folder import LocalRunFolder
from dl_drawbacks.studies.hparams import runner, worker


def test_each_data_set_has_its_own_scheduler(monkeypatch, tmp_path, study_spec):
    planned = plan_suite(parse_spec(study_spec(n_trials=6)), source="synthetic")[0]
    tuned: list[set] = []
    monkeypatch.setattr(runner, "_tune", lambda trainable, *, param_space, **kw: tuned.append(
        {(t["sweep"], t["data"]["name"]) for t in param_space["trial"]["grid_search"]}) or [])
    ran: list[list] = []
    fake = SimpleNamespace(run_dir=tmp_path, run_id="r", progress=SimpleNamespace(line=print, total=0), max_concurrent=2,
                           run=lambda trials, max_concurrent=None: ran.append(trials), run_uri=None, staged=None,
                           folder=LocalRunFolder(tmp_path))
    base = next(t for t in planned.trials if t.sweep == "search")
    runner.run_study(planned.spec, planned.options, planned.trials, base=base, runner=fake)
    assert tuned == [{("search", "digits")}, {("transfer", "german")}]
    assert [{t.sweep for t in batch} for batch in ran] == [{"oat", "sample"}, {"default"}]
    assert all(t.treatment["tune_reports"] for t in planned.trials if t.sweep in ("search", "transfer"))
    assert not any(t.treatment["tune_reports"] for t in planned.trials if t.sweep not in ("search", "transfer"))


def test_rerun_seeds_are_fresh_and_the_worker_has_no_global_state(study_spec):
    planned = plan_suite(parse_spec(study_spec()), source="synthetic")[0]
    search_seeds = {t.seed for t in planned.trials if t.sweep in ("search", "transfer", "oat", "sample")}
    assert search_seeds == {0} and not search_seeds & {t.seed for t in planned.trials if t.sweep == "default"}
    assert not hasattr(worker, "ACTIVE")


def test_snapshot_energy_uses_the_training_window_meters(study_spec):
    trial = next(t for t in plan_suite(parse_spec(study_spec()), source="s")[0].trials if t.sweep == "search")
    ctx = SimpleNamespace(trial=trial, run_id="r", rank=0, local_rank=0, device=torch.device("cpu"), info={},
                          rows=RowBuffer("hparams", "r", trial.trial_id, 0, trial.factors))
    ctx.info["t_start"] = time.perf_counter()
    time.sleep(0.3)  # set-up: not in the window
    worker.start_window(ctx)
    sum(i * i for i in range(200_000))
    rows = worker.snapshot_rows(ctx, step=5, epoch=0)
    energy = rows.filter(pl.col("metric") == "energy")
    window = rows.filter(pl.col("metric") == "device_seconds")["value"][0]
    wall = rows.filter(pl.col("metric") == "wall_time_to_end")["value"][0]
    assert energy.height == 1 and energy["provenance"][0] in ("estimate", "rapl") and energy["value"][0] > 0
    assert 0 < window < wall - 0.25
    assert rows.filter(pl.col("metric") == "stopped_early").height == 1
