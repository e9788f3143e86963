"""Trial ids include the role (issue 29 item 4): the same configuration and seed in two roles are two trials,
so the variance phase never runs a trial a re-run phase finished (``hparams-14db939a94`` ran twice)."""

from __future__ import annotations

from dl_drawbacks.plan import plan_suite
from dl_drawbacks.spec.load import parse_spec
from dl_drawbacks.studies.hparams.trials import make_trial


def test_the_same_configuration_and_seed_in_two_roles_are_two_trials(study_spec):
    planned = plan_suite(parse_spec(study_spec()), source="synthetic")[0]
    default = next(t for t in planned.trials if t.sweep == "default")
    base = next(t for t in planned.trials if t.sweep == "search")
    hp = {k: default.factors[k] for k in ("lr", "dropout", "optimizer")}
    rerun = make_trial(base, hp, sweep="variance", seed=default.seed)
    again = make_trial(base, hp, sweep="default", seed=default.seed)
    assert rerun.trial_id != default.trial_id and rerun.trial_id.startswith("hparams-")
    assert again.trial_id == default.trial_id  # the same role, settings and seed: the same trial (resume finds it)
    assert len({t.trial_id for t in planned.trials}) == len(planned.trials)


def test_a_trial_asha_stopped_gets_its_checkpoint_rows_and_a_stopped_early_marker(tmp_path):
    """finalize_stopped: the rows snapshot in a stopped trial's last checkpoint becomes its rows, once."""
    import json
    from types import SimpleNamespace

    import polars as pl
    from ray.train import Checkpoint

    from dl_drawbacks.storage.run_folder import LocalRunFolder
    from dl_drawbacks.studies.hparams.runner import finalize_stopped
    from dl_drawbacks.studies.hparams.worker import PARTIAL

    rows = pl.DataFrame({"trial_id": ["hparams-0123456789"] * 2, "factors": [json.dumps({"sweep": "search"})] * 2,
                         "metric": ["val_accuracy", "wall_time_to_end"], "value": [0.5, 3.0]})
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    rows.write_parquet(ckpt / PARTIAL)
    run_dir = tmp_path / "run"
    LocalRunFolder(run_dir).root.mkdir(parents=True, exist_ok=True)
    results = [SimpleNamespace(checkpoint=Checkpoint.from_directory(str(ckpt))), SimpleNamespace(checkpoint=None)]
    assert finalize_stopped(run_dir, results, study="hparams") == ["hparams-0123456789"]
    marker = LocalRunFolder(run_dir).marker("hparams-0123456789")
    assert marker is not None and marker.status == "stopped_early"
    assert finalize_stopped(run_dir, results, study="hparams") == []  # a trial with a marker is never written again
