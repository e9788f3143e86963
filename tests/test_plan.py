"""Planning: grids, zip sweeps, de-duplication across sweeps, stable trial ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from dl_drawbacks.errors import SpecError
from dl_drawbacks.plan import plan
from dl_drawbacks.plan import checked_spec, load_checked

STUDIES = Path(__file__).resolve().parents[1] / "studies"


def _suite(sweeps, seeds=(0,)):
    return checked_spec({"name": "t", "version": 1, "studies": [
        {"kind": "compute", "trainer": {"budget": {"steps": 2}}, "seeds": list(seeds), "sweeps": sweeps}]})


def test_product_zip_and_seeds():
    trials = plan(_suite([{"name": "g", "axes": {"model.size": ["xs", "s"], "trainer.micro_batch": [8, 16]}},
                          {"name": "z", "mode": "zip", "axes": {"trainer.workers": [1, 2], "trainer.micro_batch": [32, 16]}}],
                         seeds=(0, 1)))
    assert len(trials) == (4 + 2) * 2
    zipped = {(t.trainer.workers, t.trainer.micro_batch) for t in trials if t.sweep == "z"}
    assert zipped == {(1, 32), (2, 16)}


def _doc(trainer: dict, axes: dict) -> dict:
    return {"name": "t", "version": 1, "studies": [
        {"kind": "compute", "trainer": {"budget": {"steps": 2}, **trainer}, "sweeps": [{"name": "z", "axes": axes}]}]}


def test_the_old_deepspeed_keys_are_read_with_one_warning_and_keep_every_trial_id():
    """``trainer.deepspeed.{micro_batch,precision,compile}`` moved to ``trainer``: the old names (a block key or a
    sweep axis) give the same trials and ids, with a FutureWarning; both names at once is refused."""
    new = plan(checked_spec(_doc({"compile": False}, {"trainer.micro_batch": [32, 16], "trainer.precision": ["bf16"]})))
    with pytest.warns(FutureWarning, match="trainer.deepspeed.micro_batch is now trainer.micro_batch"):
        old = plan(checked_spec(_doc({"deepspeed": {"compile": False}}, {"trainer.deepspeed.micro_batch": [32, 16],
                                                                         "trainer.deepspeed.precision": ["bf16"]})))
    assert [t.trial_id for t in old] == [t.trial_id for t in new] and [t.trainer for t in old] == [t.trainer for t in new]
    assert {t.trainer.micro_batch for t in new} == {32, 16} and new[0].trainer.precision == "bf16"
    with pytest.raises(SpecError, match="micro_batch given twice"):
        checked_spec(_doc({"micro_batch": 8, "deepspeed": {"micro_batch": 8}}, {"model.size": ["xs"]}))


def test_moving_the_keys_changed_no_trial_id():
    """The ids of tests/specs/tiny_compute.yaml as the code before the move planned them (run-folder format 2)."""
    ids = sorted(t.trial_id for t in plan(load_checked(Path(__file__).parent / "specs" / "tiny_compute.yaml")))
    assert ids[:3] == ["compute-2c0d737153", "compute-4337018136", "compute-6b917c80b0"]


def test_duplicate_setting_runs_once_and_belongs_to_both_sweeps():
    trials = plan(_suite([{"name": "a", "axes": {"model.size": ["xs", "s"]}}, {"name": "b", "axes": {"model.size": ["s", "m"]}}]))
    assert len(trials) == 3
    shared = [t for t in trials if t.model.size == "s"]
    assert len(shared) == 1 and shared[0].sweep == "a,b" and shared[0].factors["sweep"] == "a,b"


def test_trial_ids_are_stable_and_distinct():
    first = [t.trial_id for t in plan(load_checked(STUDIES / "compute.yaml"))]
    second = [t.trial_id for t in plan(load_checked(STUDIES / "compute.yaml"))]
    assert first == second and len(set(first)) == len(first)


def test_compute_study_plans_at_least_12_trials(capsys):
    from dl_drawbacks.cli import main

    assert main(["plan", str(STUDIES / "compute.yaml")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    n = int(lines[-1].split()[0])
    assert lines[-1] == f"{n} trials" and n >= 12 and len(lines) == n + 1
