"""Planning: grids, zip sweeps, de-duplication across sweeps, stable trial ids."""

from __future__ import annotations

from pathlib import Path

from dl_drawbacks.plan import plan
from dl_drawbacks.plan import checked_spec, load_checked

STUDIES = Path(__file__).resolve().parents[1] / "studies"


def _suite(sweeps, seeds=(0,)):
    return checked_spec({"name": "t", "version": 1, "studies": [
        {"kind": "compute", "trainer": {"budget": {"steps": 2}}, "seeds": list(seeds), "sweeps": sweeps}]})


def test_product_zip_and_seeds():
    trials = plan(_suite([{"name": "g", "axes": {"model.size": ["xs", "s"], "trainer.deepspeed.micro_batch": [8, 16]}},
                          {"name": "z", "mode": "zip", "axes": {"trainer.workers": [1, 2], "trainer.deepspeed.micro_batch": [32, 16]}}],
                         seeds=(0, 1)))
    assert len(trials) == (4 + 2) * 2
    zipped = {(t.trainer.workers, t.trainer.deepspeed.micro_batch) for t in trials if t.sweep == "z"}
    assert zipped == {(1, 32), (2, 16)}


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
