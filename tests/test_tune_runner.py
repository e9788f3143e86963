"""How a grid's trials are cut into Tune tasks (short single-worker trials batched by the resources they reserve), and
what crosses into a task: one typed ``Launch``, serialised once, parsed once, never read by key."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pydantic
import pytest

from dl_drawbacks.launch import KEY, Launch
from dl_drawbacks.plan import plan
from dl_drawbacks.spec import load_spec
from dl_drawbacks.tune_runner import TrialEnds, batch_sizes, batches

PACKAGE = Path(__file__).resolve().parents[1] / "dl_drawbacks"

SPECS = Path(__file__).resolve().parent / "specs"


def _trials(n: int) -> list:
    trials = plan(load_spec(SPECS / "tiny_resume.yaml"))
    return [trials[i % len(trials)].model_copy(update={"trial_id": f"t{i}"}) for i in range(n)]


def _cpus(trial) -> dict:
    return {"CPU": float(trial.trainer.cpus_per_worker)}


def test_a_grid_of_short_trials_is_cut_into_shrinking_batches_in_plan_order():
    trials = _trials(200)
    tasks = batches(trials, 2, _cpus)
    assert [t.trial_id for task in tasks for t in task] == [t.trial_id for t in trials]
    sizes = [len(task) for task in tasks]
    assert sizes == batch_sizes(200, 2) and sizes[0] == 50 and sizes[-3:] == [1, 1, 1]  # a quarter first, then less
    assert sizes == sorted(sizes, reverse=True) and len(tasks) <= 20  # 200 trials in few tasks
    # the slots' tails: whichever slot ends last runs its final batches of one trial each
    assert batch_sizes(16, 2) == [4, 3, 3, 2, 1, 1, 1, 1] and batch_sizes(1, 4) == [1]
    assert all(sum(batch_sizes(n, p)) == n for n in range(1, 60) for p in (1, 2, 3, 16))


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
    rest = [len(task) for task in tasks if task[0].trial_id not in ("t0", "t1")]
    assert rest == batch_sizes(6, 1) == [3, 2, 1]


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


def test_a_launch_crosses_as_one_string_and_comes_back_typed():
    trials = _trials(3)
    launch = Launch(trials=trials, address="s3://bucket/run", run_id="r", checkpoint_every=5)
    config = launch.to_config()
    assert list(config) == [KEY] and isinstance(config[KEY], str)
    back = Launch.of_task(config)
    assert back == launch and back.on_bucket and back.trials[2].trial_id == "t2"
    assert back.alone(trials[1]).trials == [trials[1]]
    assert not Launch(trials=trials, address="/tmp/x", run_id="r").on_bucket
    with pytest.raises(pydantic.ValidationError):
        Launch.model_validate({**launch.model_dump(), "run_dir": "/tmp/x"})  # an unknown key is refused, not read


def test_the_driver_callbacks_see_each_planned_trial_of_a_batch_once_from_its_launch():
    class Seen(TrialEnds):
        def __init__(self):
            super().__init__()
            self.ended_ = []

        def ended(self, trial, tune_trial, error):
            self.ended_.append((trial.trial_id, error))

    task = SimpleNamespace(config=Launch(trials=_trials(3), address="/tmp/x", run_id="r").to_config())
    seen = Seen()
    seen.on_trial_result(0, [], task, {"dl_outcome": "completed", "dl_trial_id": "t1"})
    seen.on_trial_error(0, [], task)
    assert seen.ended_ == [("t1", False), ("t0", True), ("t2", True)]


def _dict_reads(tree: ast.AST) -> list[str]:
    """``x["trial"]``, ``x["trials"]``, ``x["run_dir"]``, ``x["run_uri"]`` and ``x.get("…")`` of those keys."""
    keys = {"trial", "trials", "run_dir", "run_uri", "base"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value in keys:
            found.append(f"[{node.slice.value!r}] line {node.lineno}")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value in keys):
            found.append(f".get({node.args[0].value!r}) line {node.lineno}")
    return found


def test_no_module_reads_a_trial_or_a_run_folder_out_of_a_tune_config_by_key():
    planted = ast.parse('cfg["trial"]["trial_id"]\nconfig.get("run_uri")')
    assert sorted(_dict_reads(planted)) == [".get('run_uri') line 2", "['trial'] line 1"]  # the finder finds them
    modules = ["trial.py", "tune_runner.py", "launch.py", "progress.py", "train/worker.py", "train/stream_trainer.py",
               "storage/sync.py", "studies/hparams/runner.py", "studies/hparams/worker.py"]
    found = {m: _dict_reads(ast.parse((PACKAGE / m).read_text())) for m in modules}
    assert {m: f for m, f in found.items() if f} == {}
