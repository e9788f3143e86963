"""Trial ids include the role (issue 29 item 4): the same configuration and seed in two roles are two trials,
so the variance phase never runs a trial a re-run phase finished (``hparams-14db939a94`` ran twice)."""

from __future__ import annotations

from dl_drawbacks.plan import plan_suite
from dl_drawbacks.spec.load import parse_spec
from dl_drawbacks.studies.hparams.trials import make_trial


def test_the_same_configuration_and_seed_in_two_roles_are_two_trials(study_spec):
    planned = plan_suite(parse_spec(study_spec()), source="synthetic")[0]
    variance = next(t for t in planned.trials if t.sweep == "variance")
    base = next(t for t in planned.trials if t.sweep == "search")
    hp = {k: variance.factors[k] for k in ("lr", "dropout", "optimizer")}
    rerun = make_trial(base, hp, sweep="best_seeds", seed=variance.seed)
    again = make_trial(base, hp, sweep="variance", seed=variance.seed)
    assert rerun.trial_id != variance.trial_id and rerun.trial_id.startswith("hparams-")
    assert again.trial_id == variance.trial_id  # the same role, settings and seed: the same trial (resume finds it)
    assert len({t.trial_id for t in planned.trials}) == len(planned.trials)
