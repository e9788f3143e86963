"""The driver gives each data set's search its own scheduler; the worker needs no process-global state;
a stopped trial's energy comes from the same meters over the training window."""

from __future__ import annotations

import time
from types import SimpleNamespace

import polars as pl
import torch

from dl_drawbacks.launch import KEY, Launch
from dl_drawbacks.plan import plan_suite
from dl_drawbacks.rows import RowBuffer
from dl_drawbacks.spec.load import parse_spec
from dl_drawbacks.studies.hparams import runner, worker
from dl_drawbacks.tune_runner import TrialRunner


def test_each_data_set_has_its_own_scheduler_on_the_shared_tune_machinery(monkeypatch, tmp_path, study_spec):
    """The searches go through ``TrialRunner.tune`` (one Tuner builder) with their hooks set: one ASHA scheduler and
    one experiment per data set, the search trainable, and the search's way of naming a task's trial."""
    from ray.tune.schedulers import ASHAScheduler

    planned = plan_suite(parse_spec(study_spec(n_trials=6)), source="synthetic")[0]
    tuned: list[set] = []

    def fake_tune(self, trainable, param_space, *, name, scheduler, trials_of, **kw):
        launches = [Launch.model_validate_json(s) for s in param_space[KEY]["grid_search"]]
        assert isinstance(scheduler, ASHAScheduler) and trials_of is worker.search_trials
        assert name == f"{launches[0].trial.sweep}-{launches[0].trial.data.name}"
        tuned.append({(launch.trial.sweep, launch.trial.data.name) for launch in launches})
        return []

    ran: list[list] = []
    monkeypatch.setattr(TrialRunner, "tune", fake_tune)
    monkeypatch.setattr(TrialRunner, "run", lambda self, trials, max_concurrent=None: ran.append(trials))
    fake = TrialRunner(run_dir=tmp_path, run_id="r", progress=SimpleNamespace(line=print, total=0), max_concurrent=2)
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


def test_the_validation_hold_out_is_the_shared_stratified_one_and_fixed_across_seeds(study_spec):
    """Each class keeps its share of the training split in validation (``data.base.stratified_indices``, as every
    study's hold-out), validation and training are disjoint, and the hold-out does not move with the trial's seed."""
    import numpy as np

    from dl_drawbacks.studies.base import get_kind
    from dl_drawbacks.train.context import TrialContext

    kind = get_kind("hparams")
    trials = [t for t in plan_suite(parse_spec(study_spec()), source="s")[0].trials if t.data.name == "digits"]
    vals = []
    for trial in trials[:1] + [t for t in trials if t.seed != trials[0].seed][:1]:
        ctx = TrialContext(trial=trial, run_id="r", rank=0, local_rank=0, world_size=1, device=torch.device("cpu"),
                           treatment=kind.Treatment.model_validate(trial.treatment),
                           rows=RowBuffer(trial.study, "r", trial.trial_id, trial.seed, trial.factors))
        kind.prepare_data(ctx)
        train, val = np.asarray(ctx.splits["train"].y), np.asarray(ctx.splits["val"].y)
        whole = np.concatenate([train, val])
        expected = np.bincount(whole) * len(val) / len(whole)
        assert np.all(np.abs(np.bincount(val, minlength=len(expected)) - expected) <= 1)  # stratified
        vals.append(np.sort(np.asarray(ctx.splits["val"].x).sum(axis=1)))
    assert len(vals) == 2 and np.array_equal(vals[0], vals[1])  # the same rows held out for both seeds


def test_a_tpe_task_builds_its_trial_from_its_launch_and_the_sampled_configuration(study_spec, tmp_path):
    """TPE's Tune config: the base trial's launch (role ``search``) plus the searcher's ``hp``; the worker and the
    driver's callbacks build the same trial from it, with the sampled values, its own id and the base's address."""
    base = next(t for t in plan_suite(parse_spec(study_spec()), source="s")[0].trials if t.sweep == "search")
    fake = TrialRunner(run_dir=tmp_path, run_id="r", progress=SimpleNamespace(line=print, total=0))
    config = {**fake.launch([base.model_copy(update={"sweep": "search"})], train_checkpoints=False).to_config(),
              "hp": {"lr": 0.0123, "dropout": 0.1, "optimizer": "sgd"}}
    launch, trial = worker.planned_trial(config)
    assert (trial.trainer.optimizer.lr, trial.trainer.optimizer.name, trial.sweep) == (0.0123, "sgd", "search")
    assert trial.treatment["tune_reports"] and trial.trial_id != base.trial_id and launch.trials == [trial]
    assert launch.address == str(tmp_path) and launch.checkpoint_every == 0 and launch.fault is None
    assert worker.search_trials(SimpleNamespace(config=config)) == [trial]


def test_a_transfer_to_the_same_data_set_with_other_options_is_its_own_task(study_spec):
    """A transfer to shuffled MNIST-1D used to be a second task named `mnist1d`: its searches, ASHA savings and
    headlines were merged with the study's own by name. The task now names the options that differ."""
    from dl_drawbacks.studies.hparams.trials import task_label

    planned = plan_suite(parse_spec(study_spec(n_trials=6, transfer={"name": "digits", "options": {"seed": 7}})),
                         source="synthetic")[0]
    tasks = {(t.sweep, t.factors["task"]) for t in planned.trials if t.sweep in ("search", "transfer")}
    assert tasks == {("search", "digits"), ("transfer", "digits (seed=7)")}
    other = next(t.data for t in planned.trials if t.sweep == "transfer")
    assert task_label(other.model_copy(update={"name": "german"}), other) == "german"
