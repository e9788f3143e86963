"""How a grid's trials are cut into Tune tasks: short single-worker trials batched by the resources they reserve."""

from __future__ import annotations

from pathlib import Path

from dl_drawbacks.plan import plan
from dl_drawbacks.spec import load_spec
from dl_drawbacks.tune_runner import MAX_BATCH, TASKS_PER_SLOT, batches

SPECS = Path(__file__).resolve().parent / "specs"


def _trials(n: int) -> list:
    trials = plan(load_spec(SPECS / "tiny_resume.yaml"))
    return [trials[i % len(trials)].model_copy(update={"trial_id": f"t{i}"}) for i in range(n)]


def _cpus(trial) -> dict:
    return {"CPU": float(trial.trainer.cpus_per_worker)}


def test_a_grid_of_short_trials_is_cut_into_balanced_batches_in_plan_order():
    trials = _trials(200)
    tasks = batches(trials, 2, _cpus)
    assert [t.trial_id for task in tasks for t in task] == [t.trial_id for t in trials]
    assert max(len(task) for task in tasks) == MAX_BATCH
    tasks = batches(_trials(16), 2, _cpus)
    assert len(tasks) >= 2 * TASKS_PER_SLOT and {len(task) for task in tasks} == {2}


def test_trials_that_reserve_other_resources_or_several_workers_are_not_batched_together():
    trials = _trials(8)
    wide = trials[0].trainer.model_copy(update={"cpus_per_worker": 2})
    two = trials[1].trainer.model_copy(update={"workers": 2})
    trials[0] = trials[0].model_copy(update={"trainer": wide})
    trials[1] = trials[1].model_copy(update={"trainer": two})
    tasks = batches(trials, 1, _cpus)
    assert [["t0"]] == [[t.trial_id for t in task] for task in tasks if task[0].trial_id == "t0"]
    assert [["t1"]] == [[t.trial_id for t in task] for task in tasks if task[0].trial_id == "t1"]
    assert sorted(t.trial_id for task in tasks for t in task) == sorted(f"t{i}" for i in range(8))
    assert all(len(task) == 2 for task in tasks if task[0].trial_id not in ("t0", "t1"))


def test_consecutive_studies_on_the_default_grid_with_the_same_settings_share_one_grid():
    from types import SimpleNamespace

    from dl_drawbacks.execute import grid_groups
    from dl_drawbacks.spec.models import ExecutionSpec
    from dl_drawbacks.studies.base import get_kind

    def study(name: str, **execution):
        execution = ExecutionSpec(**execution)
        return SimpleNamespace(kind=get_kind(name), spec=SimpleNamespace(execution=execution), name=name)

    studies = [study("compute"), study("data"), study("overfitting"), study("hparams"), study("bias"),
               study("interpretability"), study("data", max_failures=1)]
    names = [[s.name for s in group] for group in grid_groups(studies)]
    # compute runs one trial at a time and hparams drives its own search: each alone; interpretability runs 2 at
    # once; the last data study retries its trials
    assert names == [["compute"], ["data", "overfitting"], ["hparams"], ["bias"], ["interpretability"], ["data"]]
