"""fANOVA importance with bootstraps on a synthetic objective whose dominant hyperparameter is known."""

import numpy as np
import polars as pl

from dl_drawbacks.studies.hparams.importance import FanovaBootstrap
from dl_drawbacks.studies.hparams.space import Dist, sample_configs


def _space():
    return {"lr": Dist.model_validate({"loguniform": [1e-4, 1e-1]}),
            "dropout": Dist.model_validate({"uniform": [0.0, 0.5]}),
            "optimizer": Dist.model_validate({"choice": ["adamw", "sgd"]}),
            "depth": Dist.model_validate({"randint": [1, 4]})}


def test_dominant_hyperparameter_ranks_first_with_stable_interval():
    space = _space()
    configs = sample_configs(space, 60, seed=3)
    rng = np.random.default_rng(0)
    # objective: a peak in log lr dominates; dropout adds a little; optimizer/depth nothing; small noise
    frame = pl.DataFrame(configs).with_columns(
        objective=pl.Series([-(np.log10(c["lr"]) + 2.5) ** 2 - 0.1 * c["dropout"] + rng.normal(0, 0.01) for c in configs]))
    fit = FanovaBootstrap({n: d.optuna() for n, d in space.items()}, n_bootstrap=8, n_trees=16, seed=0).fit(frame)
    assert fit.ranking_[0] == "lr"
    lr = fit.summary_["lr"]
    assert lr["top1_frequency"] >= 0.9
    assert lr["interval95"][0] > max(fit.summary_[n]["interval95"][1] for n in ("optimizer", "depth"))
    assert lr["interval95"][0] <= lr["mean"] <= lr["interval95"][1]
    assert fit.samples_.shape == (8, 4)
    assert abs(sum(lr["rank_frequency"].values()) - 1) < 1e-9


def test_bad_distribution_name_is_one_line_error_naming_the_key():
    import pytest

    from dl_drawbacks.errors import SpecError
    from dl_drawbacks.spec.load import parse_spec

    doc = {"name": "x", "version": 1, "studies": [{"kind": "hparams", "trainer": {"budget": {"epochs": 2}},
           "analysis": {"search_space": {"lr": {"logunif": [1e-4, 1e-1]}}}}]}
    with pytest.raises(SpecError) as err:
        parse_spec(doc)
    msg = str(err.value)
    assert "studies[0].analysis.search_space.lr: unknown distribution 'logunif'; allowed: choice, loguniform" in msg
    assert "\n" not in msg
