"""fANOVA importance with bootstraps and a permutation null on a synthetic objective whose dominant
hyperparameter is known; log-uniform hyperparameters analysed on their log scale."""

import numpy as np
import polars as pl

from dl_drawbacks.studies.hparams.importance import FanovaBootstrap
from dl_drawbacks.studies.hparams.space import Dist, sample_configs


def _space():
    return {"lr": Dist.model_validate({"loguniform": [1e-4, 1e-1]}),
            "dropout": Dist.model_validate({"uniform": [0.0, 0.5]}),
            "optimizer": Dist.model_validate({"choice": ["adamw", "sgd"]}),
            "depth": Dist.model_validate({"randint": [1, 4]})}


def _frame(space, configs, *, log: bool):
    rng = np.random.default_rng(0)
    # objective: a peak in log lr and nothing else, small noise
    objective = [-(np.log10(c["lr"]) + 2.5) ** 2 + rng.normal(0, 0.01) for c in configs]
    rows = [{n: (space[n].analysis_value(v) if log else v) for n, v in c.items()} for c in configs]
    return pl.DataFrame(rows).with_columns(objective=pl.Series(objective))


def test_log_lr_objective_ranks_lr_first_in_at_least_90_percent_of_bootstraps():
    space = _space()
    configs = sample_configs(space, 60, seed=3)
    dists = {n: d.analysis_distribution() for n, d in space.items()}
    fit = FanovaBootstrap(dists, n_bootstrap=10, n_permutations=19, n_trees=16, seed=0).fit(_frame(space, configs, log=True))
    lr = fit.summary_["lr"]
    assert fit.ranking_[0] == "lr" and lr["top1_frequency"] >= 0.9 and lr["null_p_value"] <= 0.05
    assert lr["interval"]["low"] > max(fit.summary_[n]["interval"]["high"] for n in ("optimizer", "depth"))
    assert lr["interval"]["method"] == "bootstrap-basic" and lr["interval"]["domain"] == "[0, 1]"
    assert lr["interval"]["n"] == {"configurations": 60, "resamples": 10}
    assert fit.samples_.shape == (10, 4) and abs(sum(lr["rank_frequency"].values()) - 1) < 1e-9


def test_log_uniform_hyperparameters_are_analysed_as_log10():
    """optuna's fANOVA marginalises on the raw scale of a distribution (FACTS.md): the study hands it
    log10 values in log10 bounds for log-uniform hyperparameters, everything else unchanged."""
    space = _space()
    lr = space["lr"].analysis_distribution()
    assert (lr.low, lr.high, lr.log) == (-4.0, -1.0, False) and space["lr"].analysis_value(1e-3) == -3.0
    assert space["dropout"].analysis_distribution() == space["dropout"].optuna() and space["dropout"].analysis_value(0.2) == 0.2


def test_bad_distribution_name_is_one_line_error_naming_the_key():
    import pytest

    from dl_drawbacks.errors import SpecError
    from dl_drawbacks.plan import checked_spec

    doc = {"name": "x", "version": 1, "studies": [{"kind": "hparams", "trainer": {"budget": {"epochs": 2}},
           "analysis": {"search_space": {"lr": {"logunif": [1e-4, 1e-1]}}}}]}
    with pytest.raises(SpecError) as err:
        checked_spec(doc)
    msg = str(err.value)
    assert "studies[0].analysis.search_space.lr: unknown distribution 'logunif'; allowed: choice, loguniform" in msg
    assert "\n" not in msg


def test_importance_interval_is_refused_below_ten_configurations():
    from dl_drawbacks.studies.hparams.importance import replicate_interval

    iv = replicate_interval(np.linspace(0.1, 0.5, 20), 0.3, units=6, over="configurations (bootstrap)")
    assert iv.low is None and iv.reason.startswith("not measurable: 6 configurations")
    assert replicate_interval(np.linspace(0.1, 0.5, 20), 0.3, units=12, over="configurations (bootstrap)").defined
